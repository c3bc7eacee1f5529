package municipal_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/report"
	"jiannuo/server/municipal"
	"jiannuo/server/public"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
)

// TestAnnualReportsAcrossTiers: a township leader prepares the year's
// report from the statistics, signs and submits it (a staff account of
// the same office may not); it reaches the county, which lists it,
// reminds the township that has not reported and compiles the county's
// report; the municipal node pulls both, compiles the city's, and the
// public page and the JSON feed show them — the narrative escaped, no
// account name, notable commitments only while shown — with their PDF and
// Excel files.
func TestAnnualReportsAcrossTiers(t *testing.T) {
	c := newCounty(t, luanchuan)
	m := newMunicipal(t, "市信用平台", c)
	m.edit = func(cfg *municipal.Config) {
		cfg.Public = func(n *municipal.Node) http.Handler {
			return public.New(public.Config{Store: n.Store(), Logger: quiet()})
		}
	}
	m.start(c.serfAddr)
	leader := c.device(township(luanchuan, 0), domain.RoleLeader)
	staff := c.device(township(luanchuan, 0), domain.RoleStaff)
	other := c.device(township(luanchuan, 1), domain.RoleLeader)
	shown := leader.create("窗口午间值守", domain.WorkdaysDeadline(10))
	hidden := leader.create("草稿：不公开", domain.WorkdaysDeadline(10))
	leader.publish(shown)
	leader.sync()
	other.create("农村道路养护", domain.WorkdaysDeadline(10))
	other.sync()
	staff.sync()

	cs, err := leader.st.AllCommitments()
	if err != nil {
		t.Fatal(err)
	}
	today := calendar.NewDate(2026, 12, 20)
	asOf, figs := report.AnnualFigures(cs, leader.se.Device().Office, 2026, today, calendar.Default())
	in := store.ReportInput{Year: 2026, AsOf: asOf, Figures: figs, Notable: []store.Ref{shown, hidden},
		Narrative: "2026年本镇践诺情况总结。\n<script>alert(1)</script>一是……"}
	if _, err := staff.se.SubmitAnnualReport(in); !errors.Is(err, domain.ErrNotAllowed) {
		t.Fatalf("staff signs the report: %v", err)
	}
	if _, err := leader.se.SubmitAnnualReport(in); err != nil {
		t.Fatal(err)
	}
	leader.sync()

	// The county.
	st, err := c.srv.ReportStatus(2026)
	if err != nil {
		t.Fatal(err)
	}
	byOffice := map[string]countyapi.ReportStatusInfo{}
	for _, o := range st.Offices {
		byOffice[string(o.Office)] = o
	}
	if got := byOffice[string(township(luanchuan, 0))]; got.Status != countyapi.ReportOnTime || got.Version != 1 || got.By != "user" {
		t.Fatalf("the township's report at the county: %+v", got)
	}
	if byOffice[string(township(luanchuan, 1))].Status != countyapi.ReportPending {
		t.Fatalf("the other township at the county: %+v", st.Offices)
	}
	if sent, err := c.srv.RemindReports(2026, "", "admin"); err != nil || len(sent) != 1 || sent[0].Office != township(luanchuan, 1) {
		t.Fatalf("reminders: %+v %v", sent, err)
	}
	comp, err := c.srv.CompileReport(countyapi.ReportCompile{Year: 2026, Narrative: "栾川县2026年度践诺情况。", Notable: []store.Ref{shown}}, "admin")
	if err != nil || len(comp.Report.Current.Sources) != 1 {
		t.Fatalf("compiling: %+v %v", comp, err)
	}

	// The municipal node.
	m.waitConverged(c)
	reps, err := m.n.Store().AnnualReports(store.ReportFilter{Year: 2026})
	if err != nil || len(reps) != 2 || reps[0].Office != luanchuan || reps[1].Office != township(luanchuan, 0) {
		t.Fatalf("reports on the municipal node: %+v %v", reps, err)
	}

	// The public feed and page.
	base := "http://" + m.n.HTTPAddr()
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	code, body := get("/api/v1/reports?year=2026")
	var feed public.ReportsPage
	if err := json.Unmarshal(body, &feed); code != http.StatusOK || err != nil || feed.Schema != public.SchemaReports {
		t.Fatalf("GET /api/v1/reports: %d %v\n%s", code, err, body)
	}
	if len(feed.Items) != 3 || !feed.Items[0].Compiled || feed.Items[0].Level != "city" || feed.Items[1].Office != string(luanchuan) ||
		feed.Items[2].Office != string(township(luanchuan, 0)) {
		t.Fatalf("feed items: %+v", feed.Items)
	}
	town := feed.Items[2]
	if town.Version != 1 || town.Narrative != in.Narrative || len(town.Notable) != 1 || town.Notable[0].Title != "窗口午间值守" ||
		town.URL != "/r/"+string(township(luanchuan, 0))+"/2026" || town.Late {
		t.Fatalf("the township's report in the feed: %+v", town)
	}
	if county := feed.Items[1]; len(county.Sources) != 1 || county.Sources[0].Office != string(township(luanchuan, 0)) {
		t.Fatalf("the county's report in the feed: %+v", county)
	}
	if bytes.Contains(body, []byte(`"user"`)) || bytes.Contains(body, []byte("<script>")) || bytes.Contains(body, []byte(hidden.ID.String())) {
		t.Fatalf("the feed shows an account name, raw markup or a hidden commitment:\n%s", body)
	}
	code, page := get("/r/" + string(township(luanchuan, 0)) + "/2026")
	if code != http.StatusOK || !strings.Contains(string(page), "&lt;script&gt;alert(1)&lt;/script&gt;一是") || strings.Contains(string(page), "<script>") ||
		!strings.Contains(string(page), "窗口午间值守") || strings.Contains(string(page), "草稿：不公开") {
		t.Fatalf("the township's report page (%d):\n%s", code, page)
	}
	code, page = get("/r")
	for _, want := range []string{"2026年度", "洛阳市", "栾川县", "赤土店镇", "平台汇总"} {
		if code != http.StatusOK || !strings.Contains(string(page), want) {
			t.Errorf("the reports page (%d) lacks %q", code, want)
		}
	}
	code, page = get("/r/410300/2026")
	if code != http.StatusOK || !strings.Contains(string(page), "洛阳市2026年度践诺情况报告") || !strings.Contains(string(page), "按时报送") {
		t.Fatalf("the city's compiled report (%d):\n%s", code, page)
	}
	for _, p := range []string{"/r/410300/2026/report.pdf", "/r/410324/2026/report.pdf"} {
		if code, b := get(p); code != http.StatusOK || !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Errorf("%s: %d, %d bytes", p, code, len(b))
		}
	}
	if code, b := get("/r/" + string(township(luanchuan, 0)) + "/2026/report.xlsx"); code != http.StatusOK || !bytes.HasPrefix(b, []byte("PK")) {
		t.Errorf("the township's workbook: %d", code)
	}
	for _, p := range []string{"/r/" + string(township(luanchuan, 1)) + "/2026", "/r/410324/1999", "/r/x/2026", "/r/410324/2026/other.doc"} {
		if code, _ := get(p); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	if code, _ := get("/api/v1/reports?year=abc"); code != http.StatusBadRequest {
		t.Errorf("a bad year: %d", code)
	}
}
