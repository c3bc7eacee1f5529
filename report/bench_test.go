package report

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// synthetic returns n commitments spread like a busy county's: every
// category, a realistic mix of statuses, date and working-day deadlines
// around today, entries on most, a Chinese text of a few hundred bytes, ten
// townships. The same seed gives the same data.
func synthetic(n int) []store.Commitment {
	r := rand.New(rand.NewPCG(1, 2))
	cats := domain.Categories()
	statuses := []domain.Status{ // weighted: most are open or kept on time
		domain.StatusDraft, domain.StatusPublished, domain.StatusPublished, domain.StatusInProgress,
		domain.StatusInProgress, domain.StatusInProgress, domain.StatusFulfilledOnTime, domain.StatusFulfilledOnTime,
		domain.StatusFulfilledOnTime, domain.StatusFulfilledLate, domain.StatusPartlyFulfilled, domain.StatusBreached,
		domain.StatusWithdrawn,
	}
	text := strings.Repeat("对辖区内登记失业人员每季度推送岗位信息并提供职业指导。", 4)
	out := make([]store.Commitment, n)
	for i := range out {
		var id protocol.EntityID
		id[0], id[1], id[2] = byte(i>>16), byte(i>>8), byte(i)
		start := today.AddDays(-r.IntN(400))
		dl := "date:" + start.AddDays(10+r.IntN(300)).String()
		if r.IntN(4) == 0 {
			dl = fmt.Sprintf("workdays:%d", 1+r.IntN(30))
		}
		st := statuses[r.IntN(len(statuses))]
		c := store.Commitment{
			Ref:         store.Ref{Office: townA[:6] + office.Code(fmt.Sprintf("1%02d", i%10)), ID: id},
			Created:     true,
			Category:    cats[r.IntN(len(cats))],
			Title:       fmt.Sprintf("承诺事项第%d号", i),
			Text:        text,
			LegalBasis:  "《就业促进法》第五十二条",
			Responsible: "刘洋（社会事务办）",
			StartDate:   start.String(),
			Deadline:    dl,
			Public:      r.IntN(10) != 0,
			Status:      st,
			Version:     1,
			UpdatedAt:   protocol.MakeHLC(time.Date(2026, 1, 1, 0, 0, 0, 0, cst).UnixMilli()+int64(i), 0),
		}
		if st != domain.StatusDraft && st != domain.StatusWithdrawn && st != domain.StatusPublished {
			c.Entries = 1 + r.IntN(5)
			c.Progress = 10 * r.IntN(11)
			day := start.AddDays(r.IntN(max(1, start.DaysUntil(today))))
			c.LastEntry = &store.EntryPointer{Date: day}
		}
		out[i] = c
	}
	return out
}

// baseline is one plain pass over the slice touching the fields Compute
// reads: the cost of merely walking 50,000 views.
func baseline(cs []store.Commitment) int {
	n := 0
	for i := range cs {
		c := &cs[i]
		if c.Status.Open() {
			n += len(c.Deadline) + len(c.StartDate)
		}
		n += len(c.Category) + c.Progress
	}
	return n
}

var sink int

// BenchmarkCompute measures Compute on 50,000 commitments and, in the same
// iterations, a plain pass over the same slice. The machine may be busy, so
// each is timed on its own and the fastest of each is kept: x-baseline is
// the ratio of the two minima. (ns/op counts both; the pass is ~1 % of it.)
func BenchmarkCompute(b *testing.B) {
	cs := synthetic(50_000)
	for range 5 { // warm up: caches, page faults
		sink += baseline(cs) + Compute(cs, today, cal).All.Total
	}
	minBase, minCompute := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		t0 := time.Now()
		sink += baseline(cs)
		t1 := time.Now()
		sink += Compute(cs, today, cal).All.Total
		t2 := time.Now()
		minBase, minCompute = min(minBase, t1.Sub(t0)), min(minCompute, t2.Sub(t1))
	}
	b.ReportMetric(float64(minCompute.Nanoseconds()), "compute-min-ns")
	b.ReportMetric(float64(minBase.Nanoseconds()), "baseline-min-ns")
	b.ReportMetric(float64(minCompute)/float64(minBase), "x-baseline")
}

func BenchmarkBaselinePass(b *testing.B) {
	cs := synthetic(50_000)
	for b.Loop() {
		sink += baseline(cs)
	}
}

func BenchmarkByOffice(b *testing.B) {
	cs := synthetic(50_000)
	for b.Loop() {
		sink += len(ByOffice(cs, today, cal))
	}
}

// noticeData is 50,000 commitments that all belong on the notice of the
// county 栾川县 (ten of its townships).
func noticeData(b *testing.B) ([]store.Commitment, office.Unit) {
	cs := synthetic(50_000)
	for i := range cs {
		cs[i].Public = true
		if !InNotice(&cs[i]) {
			cs[i].Status = domain.StatusPublished
		}
	}
	county := office.Unit{Code: "410324", Name: "栾川县", Kind: "县"}
	if n := len(NoticeRows(cs, county, cal)); n != len(cs) {
		b.Fatalf("%d notice rows", n)
	}
	return cs, county
}

func BenchmarkWriteNoticeXLSX(b *testing.B) {
	cs, county := noticeData(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteNoticeXLSX(&buf, cs, county, today, cal, zh); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/file")
	b.ReportMetric(float64(len(cs)), "rows")
}

func BenchmarkWriteNoticeCSV(b *testing.B) {
	cs, county := noticeData(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteNoticeCSV(&buf, cs, county, today, cal, zh); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/file")
	b.ReportMetric(float64(len(cs)), "rows")
}

func BenchmarkWriteAnnualXLSX(b *testing.B) {
	cs := synthetic(50_000)
	county := office.Unit{Code: "410324", Name: "栾川县", Kind: "县"}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteAnnualXLSX(&buf, cs, county, 2026, today, cal, zh); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBarChart(b *testing.B) {
	s := Compute(synthetic(50_000), today, cal)
	bars := RateBars(s.ByCategory)
	o := ChartOptions{Max: 100, ValueFormat: FormatPercent, Scale: 2}
	for b.Loop() {
		sink += len(BarChart(1200, 500, bars, o).Pix)
	}
}

func BenchmarkLineChart(b *testing.B) {
	s := Compute(synthetic(50_000), today, cal)
	pts := RatePoints(s.ByMonth)
	o := ChartOptions{Max: 100, ValueFormat: FormatPercent, Scale: 2}
	for b.Loop() {
		sink += len(LineChart(1200, 500, pts, o).Pix)
	}
}

// TestSyntheticIsRealistic keeps the benchmark data honest: the notice of
// one township and the dashboard see what the generator promises.
func TestSyntheticIsRealistic(t *testing.T) {
	cs := synthetic(5000)
	s := Compute(cs, today, cal)
	if s.All.Overdue == 0 || s.All.DueSoon == 0 || s.All.Closed() == 0 || len(s.ByCategory) != len(domain.Categories()) {
		t.Errorf("synthetic data: %+v", s.All)
	}
	if n := len(ByOffice(cs, today, cal)); n != 10 {
		t.Errorf("%d offices", n)
	}
	if err := WriteNoticeCSV(io.Discard, cs, unit, today, cal, zh); err != nil {
		t.Fatal(err)
	}
}
