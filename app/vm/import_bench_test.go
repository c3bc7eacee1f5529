package vm

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/store"
)

// importBenchRows is the size of the benchmarked import.
const importBenchRows = 2000

// importBenchFile is a filled template of n rows: every category, date
// and working-day deadlines, a paragraph of Chinese text each.
func importBenchFile(b *testing.B, n int) []byte {
	b.Helper()
	f := template(b, trZh)
	sheet := trZh.T("import.sheet_data")
	cats := domain.Categories()
	for i := range n {
		kind, date, days := trZh.T(keyKindDate), any("2026-12-31"), any(nil)
		if i%2 == 1 {
			kind, date, days = trZh.T(keyKindWorkdays), nil, 5+i%20
		}
		row := []any{trZh.T("category." + string(cats[i%len(cats)])), fmt.Sprintf("第%d项承诺：为群众办实事", i+1),
			"对辖区内80岁以上独居老人每月上门走访一次，建立走访台账，发现困难及时协调解决，并在村务公开栏公示走访结果。",
			"《河南省老年人权益保障条例》", "王建国（民政所）", "2026-03-01", kind, date, days, "是", "否"}
		if err := f.SetSheetRow(sheet, fmt.Sprintf("A%d", i+3), &row); err != nil {
			b.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// benchSession opens a fresh store (fsync on, as the app runs) with a
// leader signed in.
func benchSession(b *testing.B) (*store.Store, *store.Session) {
	b.Helper()
	s, err := store.Open(filepath.Join(b.TempDir(), "township.db"), &store.Options{KDF: auth.TestParams(), Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	se, err := s.Setup(store.SetupConfig{Office: township, DeviceName: "赤土店镇-1",
		Name: "zhangli", DisplayName: "张丽", Role: domain.RoleLeader, Passphrase: testPass})
	if err != nil {
		b.Fatal(err)
	}
	return s, se
}

// BenchmarkImport2000 imports a 2,000-row file into an empty replica:
// ReadImport (open, check every cell for formulas, validate every row) and
// ApplyImport (one transaction of 2,000 creates). The baseline, measured in
// the same run, is the same 2,000 commitments created one by one with
// Session.Create, as typing them into the form would, each in its own
// fsync'd transaction. Reported: ms per import.
//
//	go test -run '^$' -bench Import2000 -benchtime 3x ./app/vm/
func BenchmarkImport2000(b *testing.B) {
	data := importBenchFile(b, importBenchRows)
	b.Logf("file: %d rows, %d bytes", importBenchRows, len(data))
	p, err := ReadImport(bytes.NewReader(data), ImportConfig{Role: domain.RoleLeader, Office: township, Logger: quiet()})
	if err != nil || !p.OK() || len(p.Rows) != importBenchRows {
		b.Fatalf("the file does not import: %v %+v", err, p.Issues)
	}
	drafts := make([]store.Draft, len(p.Rows))
	for i, r := range p.Rows {
		if drafts[i], err = r.Form.Draft(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := ReadImport(bytes.NewReader(data), ImportConfig{Role: domain.RoleLeader, Office: township, Logger: quiet()}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("import", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			s, se := benchSession(b)
			start := time.Now()
			p, err := ReadImport(bytes.NewReader(data), ImportConfig{Role: domain.RoleLeader, Office: township, Logger: quiet()})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ApplyImport(se, p); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
			s.Close()
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/import")
	})
	b.Run("baseline-single-creates", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			s, se := benchSession(b)
			start := time.Now()
			for _, d := range drafts {
				if _, err := se.Create(d); err != nil {
					b.Fatal(err)
				}
			}
			total += time.Since(start)
			s.Close()
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/import")
	})
}
