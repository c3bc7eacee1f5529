package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"jiannuo/app/vm"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/server/county/countytest"
	"jiannuo/server/public"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Filed the day before National Day's eve: 2026-09-29 is a Tuesday, and
// 1–7 October are the holiday, with Saturday 10 October worked (调休).
var beforeNationalDay = time.Date(2026, 9, 29, 10, 0, 0, 0, cst)

// The deadlines of a complaint filed then, in working days from the day
// after filing (county defaults: 3 to acknowledge, 15 to answer):
// 9-30 is the first, 10-8 and 10-9 the second and third; 10-10 (a
// Saturday worked) the fourth, and the fifteenth 10-26.
const (
	wantAckDue    = "2026-10-09"
	wantAnswerDue = "2026-10-26"
)

const (
	complaintText = "村口路灯坏了两周，夜里看不见路，多次反映无人处理。"
	replyText     = "已于10月13日更换村口路灯灯头3个并检修线路，今后每月巡查一次。"
	acceptNote    = "经核实，群众反映属实，已整改到位。"
)

// testPNG is a small real PNG image: a photo the filer attaches.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for y := range 16 {
		for x := range 24 {
			img.Set(x, y, color.RGBA{uint8(x * 10), uint8(y * 15), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// caseRow loads the case list of a device's view-model on the day today
// and returns the list with the case's row.
func caseRow(t *testing.T, d *countytest.Device, ref store.Ref, today calendar.Date) (*vm.CaseList, vm.CaseRow) {
	t.Helper()
	l := vm.NewCaseList(d.Session, nil, d.Sync)
	if err := l.Load(today); err != nil {
		t.Fatal(err)
	}
	row, ok := l.Lookup(ref)
	if !ok {
		t.Fatalf("the case %v is not on the device's list", ref)
	}
	return l, row
}

// TestComplaintEndToEnd: a complaint filed through the municipal node's
// real public form, with the filer's name, phone and a photo, travels
// municipal → county → the township's devices; its deadlines are counted
// in working days across National Day; the public page shows it overdue
// for acknowledgement; the township's staff takes it up and drafts the
// reply in the app, its leader approves it, the county admin accepts it
// through the admin API; the public page then shows its status and the
// public reply, and the tracking page its whole history. The complaint
// upheld, the county admin confirms the breach on the admin device and
// links the record to the case: every tier shows the link. A reply to the
// case pushed by another township's device is refused with its code and
// changes nothing. At the end the filer's name and phone are in no file,
// log or answer of any tier; only the township's devices and the county
// admin's contact API read them.
func TestComplaintEndToEnd(t *testing.T) {
	c := newCity(t, beforeNationalDay)
	leader := c.device(townA, domain.RoleLeader, "王镇长")
	staff := c.device(townA, domain.RoleStaff, "李干事")
	adminDev := c.device(county, domain.RoleCountyAdmin, "赵科长")
	ref := publish(t, leader, "村口路灯损坏三日内修复")
	leader.Sync()
	c.converge()

	// The public files through the real form.
	photo := testPNG(t)
	number, code := c.site.file(commitmentPath(ref)+"/file", filing{kind: "complaint", text: complaintText,
		name: filerName, phone: filerPhone, files: map[string][]byte{"路灯照片.png": photo}})
	if !strings.HasPrefix(number, "TS20260929-") {
		t.Fatalf("case number %s", number)
	}
	id := c.node.waitIntake(number, public.IntakeAccepted)
	cref := store.Ref{Office: townA, ID: id}
	ctx := context.Background()
	info, err := c.api.Case(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckDue != wantAckDue || info.AnswerDue != wantAnswerDue || info.FiledDate != "2026-09-29" ||
		info.Source != domain.CaseSourcePublic || len(info.Evidence) != 1 {
		t.Fatalf("the county's case: filed %s, ack %s, answer %s, source %s, %d files", info.FiledDate,
			info.AckDue, info.AnswerDue, info.Source, len(info.Evidence))
	}
	c.converge()

	// Past the acknowledgement deadline, not acknowledged: overdue in
	// public.
	c.clock.set(time.Date(2026, 10, 12, 9, 0, 0, 0, cst))
	today := c.clock.today()
	page := c.site.page(commitmentPath(ref))
	contains(t, "the commitment page", page, number, "待受理", "受理期限 "+wantAckDue+"（已逾期）", "答复期限 "+wantAnswerDue)

	// The township's devices receive it with its deadlines; the contact
	// opens on each.
	staff.Sync()
	leader.Sync()
	list, row := caseRow(t, staff, cref, today)
	if row.AckDue != wantAckDue || row.AnswerDue != wantAnswerDue || !row.Due.AckLate || row.Due.DaysOverdue != 3 || !row.Can.Acknowledge {
		t.Fatalf("the staff's row: %+v", row)
	}
	for _, d := range []*countytest.Device{staff, leader} {
		l, r := caseRow(t, d, cref, today)
		detail, err := l.Detail(r)
		if err != nil || detail.Contact == nil || detail.Contact.Name != filerName || detail.Contact.Phone != filerPhone ||
			len(detail.Files) != 1 || detail.Files[0].Name != "路灯照片.png" {
			t.Fatalf("the township's detail: %+v, %v", detail, err)
		}
	}
	ct, err := c.api.CaseContact(ctx, number)
	if err != nil || ct.Name != filerName || ct.Phone != filerPhone {
		t.Fatalf("the county admin's contact API: %+v, %v", ct, err)
	}

	// Staff takes it up and drafts; the leader approves.
	if err := list.Acknowledge(row, today); err != nil {
		t.Fatal(err)
	}
	row, _ = list.Lookup(cref)
	if err := list.DraftReply(row, vm.ReplyForm{Text: replyText}, today); err != nil {
		t.Fatal(err)
	}
	if row, _ = list.Lookup(cref); row.Can.Approve || row.Case.Draft == nil {
		t.Fatalf("staff may approve, or no draft: %+v", row.Can)
	}
	leader.Sync()
	llist, lrow := caseRow(t, leader, cref, today)
	if !lrow.Can.Approve {
		t.Fatalf("the leader may not approve: %+v", lrow.Can)
	}
	if err := llist.Approve(lrow, today); err != nil {
		t.Fatal(err)
	}
	c.converge()
	contains(t, "the commitment page with a reply awaiting the county", c.site.page(commitmentPath(ref)), "答复待县级审核")
	if strings.Contains(c.site.page(commitmentPath(ref)), replyText) {
		t.Error("the reply is public before the county accepted it")
	}

	// The county admin accepts it, through the API the server command
	// calls.
	if _, err := c.api.DecideCase(ctx, number, "accept", countyapi.CaseDecision{Finding: domain.FindingUpheld, Reason: acceptNote}); err != nil {
		t.Fatal(err)
	}
	c.converge()
	c.clock.set(time.Date(2026, 10, 20, 9, 0, 0, 0, cst))
	page = c.site.page(commitmentPath(ref))
	contains(t, "the commitment page of the closed case", page, number, "已办结", replyText, "反映属实", acceptNote)
	if strings.Contains(page, complaintText) {
		t.Error("the commitment page shows the filer's text")
	}
	status, tracked := c.site.track(number, code)
	if status != http.StatusOK {
		t.Fatalf("tracking: %d\n%s", status, tail(tracked))
	}
	contains(t, "the tracking page", tracked, number, complaintText, "路灯照片.png", "提交", "县级平台转交办理并确定期限",
		"承办单位已受理", "承办单位已报送答复，待县级平台审核", "县级平台审核通过答复，已办结", replyText, acceptNote, wantAckDue, wantAnswerDue)
	if status, wrong := c.site.track(number, "0000-0000-0000"); status == http.StatusOK && strings.Contains(wrong, complaintText) {
		t.Error("a wrong tracking code shows the case")
	}

	// Upheld: the county admin confirms the breach on the admin device and
	// links the record to the case; every tier shows the link.
	adminDev.Sync()
	rec, err := vm.ConfirmBreach(adminDev.Session, ref, vm.BreachForm{Type: domain.DishonestyBreach, Official: "孙伟", Deadline: "2026-11-30",
		Reason: "群众投诉属实：村口路灯逾期两周未修复，未践诺。", Today: today})
	if err != nil {
		t.Fatal(err)
	}
	adminDev.Sync()
	if _, err := c.api.DecideCase(ctx, number, "link", countyapi.CaseDecision{Record: rec}); err != nil {
		t.Fatal(err)
	}
	c.converge()
	leader.Sync()
	staff.Sync()
	adminDev.Sync()
	closed := c.sameCase(townA, id, map[string]*store.Store{"the municipal node": c.node.n.Store(), "the leader's device": leader.Store,
		"the staff's device": staff.Store, "the admin's device": adminDev.Store})
	if len(closed.Linked) != 1 || closed.Linked[0] != rec || closed.Finding != domain.FindingUpheld {
		t.Fatalf("the case: linked %v, finding %s", closed.Linked, closed.Finding)
	}
	lrow = caseRowOf(t, leader, cref, today)
	if detail, err := vm.NewCaseList(leader.Session, nil, nil).Detail(lrow); err != nil || len(detail.Linked) != 1 || detail.Linked[0].ID != rec {
		t.Fatalf("the township's detail of the linked record: %v", err)
	}
	page = c.site.page(recordPath(townA, rec))
	contains(t, "the record page", page, "群众投诉属实：村口路灯逾期两周未修复，未践诺。", "孙伟")
	status, tracked = c.site.track(number, code)
	contains(t, "the tracking page of the linked case", tracked, "已据此记录政务失信", recordPath(townA, rec))
	var feed public.CasesPage
	getJSON(t, c.site, "api/v1/cases", &feed)
	if len(feed.Items) != 1 || feed.Items[0].Number != number || len(feed.Items[0].LinkedRecords) != 1 ||
		feed.Items[0].LinkedRecords[0] != rec.String() || feed.Items[0].PublicReply == nil || feed.Items[0].PublicReply.Text != replyText {
		t.Fatalf("the cases feed: %+v", feed.Items)
	}

	// Another township's device pushes a reply to the case: refused, out
	// of its scope, nothing stored anywhere.
	rogueReply(t, c, ref, id)
	leader.Sync()
	c.sameCase(townA, id, map[string]*store.Store{"the leader's device": leader.Store})

	// The filer's contact is nowhere but where it is sealed.
	getJSON(t, c.site, "api/v1/dishonesty", &struct{}{})
	c.site.page("")
	c.site.page("d/" + string(townA))
	c.nowhere()
}

// caseRowOf is the row of a case on a device's list.
func caseRowOf(t *testing.T, d *countytest.Device, ref store.Ref, today calendar.Date) vm.CaseRow {
	t.Helper()
	_, row := caseRow(t, d, ref, today)
	return row
}

// rogueReply enrols a key for township B as a county admin would, pushes
// a change set replying to township A's case through a real session, and
// checks the county refuses it out of scope, stores nothing and records
// the incident.
func rogueReply(t *testing.T, c *city, ref store.Ref, id protocol.EntityID) {
	t.Helper()
	st := c.county.Store()
	digest, _ := st.Digest()
	head, _ := st.FeedHead()
	rogue := enrolRaw(t, c, townB)
	op := protocol.Op{Kind: protocol.OpCaseStep, Office: townA, Target: ref.ID, Num: 1, HLC: protocol.MakeHLC(time.Now().UnixMilli(), 0),
		CaseStep: &protocol.CaseStep{Case: id, Step: domain.CaseReply, Text: "冒名答复：已处理完毕。"}}
	cs := &protocol.ChangeSet{Device: rogue.id, Office: townB, Author: "冒名者", AuthorRole: domain.RoleLeader, Seq: 1, Ops: []protocol.Op{op}}
	if err := cs.Seal(rogue.key); err != nil {
		t.Fatal(err)
	}
	ans := rogue.push(t, c, cs)
	if ans.Type != protocol.FrameRefused || ans.Code != protocol.CodeOutOfScope {
		t.Fatalf("another township's reply: %s %s %s", ans.Type, ans.Code, ans.Message)
	}
	if d, _ := st.Digest(); d != digest {
		t.Error("the county's replica changed")
	}
	if h, _ := st.FeedHead(); h != head {
		t.Error("the county's feed grew")
	}
	in, err := c.api.AllIncidents(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, i := range in {
		found = found || i.Device == rogue.id && i.Code == protocol.CodeOutOfScope
	}
	if !found {
		t.Errorf("no out_of_scope incident for the device among %+v", in)
	}
}

// getJSON fetches a JSON answer of the page into v.
func getJSON(t *testing.T, s *site, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s.page(path)), v); err != nil {
		t.Fatalf("/%s: %v", path, err)
	}
}
