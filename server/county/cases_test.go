package county_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/report"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// The county's side of a case after it is opened: decisions through the
// admin API, signed by the server's own device in the admin's name and
// audited; the list, paged; the filer's contact, read on record; the
// overview's case figures; and what the county refuses of pushed case
// operations.

func (h *harness) apiClient(t *testing.T) *countyapi.Client {
	t.Helper()
	cfg := countyapi.DefaultConfig(h.base.BaseURL, h.base.Fingerprint)
	cfg.Admin, cfg.Password = "admin", adminPass
	c := countyapi.New(cfg)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// openPublicCase files a case about ref through a fresh upstream session
// and returns its intake.
func (h *harness) openPublicCase(t *testing.T, node ed25519.PrivateKey, ref store.Ref, filed time.Time, edit func(*protocol.Intake)) *protocol.Intake {
	t.Helper()
	f := newFiling(t, h.key, node, ref, filed, edit)
	head, _ := h.srv.Store().FeedHead()
	c, _ := h.upstream(t, node, head)
	if ans := c.deliver(f); ans.Type != protocol.FrameCaseAccepted {
		t.Fatalf("filing %s: %s %s %s", f.in.Number, ans.Type, ans.Code, ans.Message)
	}
	c.conn.Close()
	return f.in
}

func wantCode(t *testing.T, what string, err error, code protocol.Code, status int) {
	t.Helper()
	var ae *countyapi.APIError
	if !errors.As(err, &ae) || ae.Code != code || ae.Status != status {
		t.Fatalf("%s: %v, want HTTP %d %s", what, err, status, code)
	}
}

// TestCaseDecisions: the county admin sends back the township's approved
// reply and then accepts the next one, through the admin API; each
// decision is a change set of the server's device with the admin as
// author, reaches the township's device, and is in the audit trail with
// the admin's name. A decision the case's state does not allow is
// refused and changes nothing.
func TestCaseDecisions(t *testing.T) {
	h := newHarness(t)
	d := h.device(townA, domain.RoleLeader)
	ref := d.published("窗口午间值守")
	node := h.node(t)
	in := h.openPublicCase(t, node, ref, time.Now(), nil)
	api := h.apiClient(t)
	ctx := context.Background()

	before := h.replicaSnapshot(t)
	_, err := api.DecideCase(ctx, in.Number, "accept", countyapi.CaseDecision{Finding: domain.FindingUpheld})
	wantCode(t, "accept before any reply", err, protocol.CodeInvalidOperation, http.StatusBadRequest)
	_, err = api.DecideCase(ctx, in.Number, "return", countyapi.CaseDecision{})
	wantCode(t, "return without a reason", err, protocol.CodeInvalidOperation, http.StatusBadRequest)
	_, err = api.DecideCase(ctx, "TS20261207-00000000", "withdraw", countyapi.CaseDecision{Reason: "重复"})
	wantCode(t, "an unknown case", err, protocol.CodeNotFound, http.StatusNotFound)
	h.wantUnchanged(t, before)

	// The township takes it up and replies; the leader approves.
	reply := func(text string) {
		t.Helper()
		d.sync()
		c, err := d.st.Case(townA, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == domain.CaseStatusOpen {
			if err := d.se.AcknowledgeCase(townA, in.ID); err != nil {
				t.Fatal(err)
			}
		}
		op, err := d.se.DraftReply(townA, in.ID, text, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.se.ApproveReply(townA, in.ID, op); err != nil {
			t.Fatal(err)
		}
		d.sync()
	}
	reply("已安排专人值守。")
	ret, err := api.DecideCase(ctx, in.Number, "return", countyapi.CaseDecision{Reason: "答复未说明值守时间"})
	if err != nil {
		t.Fatal(err)
	}
	if ret.Case.Status != domain.CaseStatusAcknowledged || ret.Case.ReturnReason != "答复未说明值守时间" || len(ret.Case.History) == 0 {
		t.Fatalf("after return: %+v", ret.Case.Case)
	}
	reply("自12月起工作日12:00至14:00安排专人值守。")
	acc, err := api.DecideCase(ctx, in.ID.String(), "accept", countyapi.CaseDecision{Finding: domain.FindingUpheld, Reason: "情况属实，已整改"})
	if err != nil {
		t.Fatal(err)
	}
	if !acc.Case.Closed || acc.Case.Finding != domain.FindingUpheld || acc.Case.PublicReply() == nil || acc.Pos <= ret.Pos {
		t.Fatalf("after accept: %+v at %d", acc.Case.Case, acc.Pos)
	}
	_, err = api.DecideCase(ctx, in.Number, "withdraw", countyapi.CaseDecision{Reason: "误报"})
	wantCode(t, "withdraw a closed case", err, protocol.CodeInvalidOperation, http.StatusBadRequest)

	// Signed by the server's device, the admin the author.
	raws, err := h.srv.Store().ChangeSets(h.srv.ServerDevice(), 1, 0)
	if err != nil || len(raws) != 2 {
		t.Fatalf("the server device's decisions: %d, %v", len(raws), err)
	}
	for i, step := range []domain.CaseStep{domain.CaseReturned, domain.CaseAccepted} {
		cs, err := protocol.Decode(raws[i])
		if err != nil || cs.Author != "admin" || cs.AuthorRole != domain.RoleCountyAdmin || len(cs.Ops) != 1 || cs.Ops[0].CaseStep.Step != step {
			t.Fatalf("decision %d: %+v %v", i, cs, err)
		}
	}
	// Audited with the admin's name, in a chain that verifies.
	rep, err := api.Audit(ctx)
	if err != nil || !rep.Verified {
		t.Fatalf("audit: %+v %v", rep, err)
	}
	var actions []string
	for _, e := range rep.Entries {
		if e.Target == in.Number {
			if e.Who != "admin" {
				t.Fatalf("audit entry by %q", e.Who)
			}
			actions = append(actions, e.Action)
		}
	}
	if !slices.Equal(actions, []string{"case_returned", "case_accepted"}) {
		t.Fatalf("audited %v", actions)
	}
	// The township's device has the county's decisions.
	d.sync()
	c, err := d.st.Case(townA, in.ID)
	if err != nil || !c.Closed || c.Finding != domain.FindingUpheld || c.PublicReply() == nil || c.PublicReply().Text != "自12月起工作日12:00至14:00安排专人值守。" {
		t.Fatalf("on the device: %+v %v", c, err)
	}
	var by []string
	for _, e := range c.History {
		if e.Step == domain.CaseReturned || e.Step == domain.CaseAccepted {
			by = append(by, e.Author)
		}
	}
	if !slices.Equal(by, []string{"admin", "admin"}) {
		t.Fatalf("decisions on the device by %v", by)
	}
}

// TestCaseListContactOverviewAndLink: the case list is paged and filters
// overdue cases; the overview counts open and overdue cases per township
// and warns; the filer's contact opens for the admin, on record; an
// objection to a dishonesty record is decided; a complaint is linked to
// the record created from it; deadlines are moved by an assignment.
func TestCaseListContactOverviewAndLink(t *testing.T) {
	h := newHarness(t)
	d := h.device(townA, domain.RoleLeader)
	ref := d.published("窗口午间值守")
	node := h.node(t)
	api := h.apiClient(t)
	ctx := context.Background()
	late := h.openPublicCase(t, node, ref, time.Now().AddDate(0, 0, -40), nil)
	fresh := h.openPublicCase(t, node, ref, time.Now(), nil)

	page, err := api.Cases(ctx, countyapi.CaseQuery{Limit: 1})
	if err != nil || len(page.Cases) != 1 || page.Next == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page2, err := api.Cases(ctx, countyapi.CaseQuery{Limit: 1, Cursor: page.Next})
	if err != nil || len(page2.Cases) != 1 || page2.Next != "" || page2.Cases[0].ID == page.Cases[0].ID {
		t.Fatalf("second page: %+v %v", page2, err)
	}
	_, err = api.Cases(ctx, countyapi.CaseQuery{Cursor: "no cursor"})
	wantCode(t, "a bad cursor", err, protocol.CodeMalformed, http.StatusBadRequest)
	over, err := api.AllCases(ctx, countyapi.CaseQuery{OverdueOnly: true})
	if err != nil || len(over) != 1 || over[0].ID != late.ID || !over[0].Overdue || over[0].Due.DaysOverdue == 0 {
		t.Fatalf("overdue: %+v %v", over, err)
	}

	ov, err := api.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ov.Rows, func(r report.OverviewRow) bool { return r.Office == townA })
	if i < 0 || ov.Rows[i].Cases != (report.CaseTally{Open: 2, Overdue: 1}) ||
		!slices.ContainsFunc(ov.Rows[i].Warnings, func(w report.Warning) bool { return w.Kind == report.WarnCaseOverdue }) {
		t.Fatalf("overview: %+v", ov.Rows)
	}
	for _, r := range ov.Rows {
		if r.Office == countyCode {
			t.Fatalf("the server's own device made a row: %+v", r)
		}
	}

	// The contact, read on record.
	ct, err := api.CaseContact(ctx, fresh.Number)
	if err != nil || !ct.Present || ct.Name != testContact.Name || ct.Phone != testContact.Phone {
		t.Fatalf("contact: %+v %v", ct, err)
	}
	rep, _ := api.Audit(ctx)
	lastEntry := rep.Entries[len(rep.Entries)-1]
	if lastEntry.Action != "contact_viewed" || lastEntry.Who != "admin" || lastEntry.Target != fresh.Number ||
		bytes.Contains([]byte(lastEntry.Detail+lastEntry.Reason), []byte(testContact.Phone)) {
		t.Fatalf("audit of the reading: %+v", lastEntry)
	}

	// New deadlines for the late one.
	as, err := api.DecideCase(ctx, late.Number, "assign", countyapi.CaseDecision{AnswerDue: "2099-01-05"})
	if err != nil || as.Case.AnswerDue != "2099-01-05" || as.Case.AckDue == "" {
		t.Fatalf("assign: %+v %v", as.Case.Case, err)
	}

	// A dishonesty record by the county's admin device, an objection to
	// it from the public, decided; the complaint linked to the record.
	adm := h.device(countyCode, domain.RoleCountyAdmin)
	adm.sync()
	rec, err := adm.se.RecordDishonesty(ref, store.DishonestyInput{Type: domain.DishonestyAccountability, Reason: "逾期未履行承诺"})
	if err != nil {
		t.Fatal(err)
	}
	adm.sync()
	obj := h.openPublicCase(t, node, ref, time.Now(), func(in *protocol.Intake) {
		in.Kind, in.Record = domain.CaseObjection, rec
		in.Number = protocol.CaseNumber(in.Kind, in.Filed, in.ID)
	})
	oc, err := api.Case(ctx, obj.Number)
	if err != nil || oc.Kind != domain.CaseObjection || oc.AckDue != "" || oc.AnswerDue == "" || oc.Record == nil || *oc.Record != rec {
		t.Fatalf("objection: %+v %v", oc, err)
	}
	dec, err := api.DecideCase(ctx, obj.Number, "decide", countyapi.CaseDecision{Finding: domain.FindingRejected, Reason: "记录所依据的事实清楚"})
	if err != nil || !dec.Case.Closed || dec.Case.Finding != domain.FindingRejected {
		t.Fatalf("decide: %+v %v", dec.Case.Case, err)
	}
	ln, err := api.DecideCase(ctx, fresh.Number, "link", countyapi.CaseDecision{Record: rec})
	if err != nil || !slices.Contains(ln.Case.Linked, rec) {
		t.Fatalf("link: %+v %v", ln.Case.Case, err)
	}
	_, err = api.DecideCase(ctx, fresh.Number, "link", countyapi.CaseDecision{Record: protocol.NewEntityID()})
	wantCode(t, "link to no record", err, protocol.CodeNotFound, http.StatusNotFound)
	adm.sync()
	if c, err := adm.st.Case(townA, fresh.ID); err != nil || !slices.Contains(c.Linked, rec) {
		t.Fatalf("on the admin device: %+v %v", c.Linked, err)
	}
}

// rawAdmin is a county-admin device speaking the protocol frame by frame.
func (h *harness) rawAdmin(t *testing.T) *rawDevice {
	t.Helper()
	d := newRawDevice(t, countyCode)
	h.rawRequestEnrolment(t, d)
	if _, err := h.srv.Approve(d.id, countyapi.ApproveRequest{Admin: true}, "admin"); err != nil {
		t.Fatal(err)
	}
	return d
}

func asAdmin(cs *protocol.ChangeSet) { cs.Author, cs.AuthorRole = "王县管", domain.RoleCountyAdmin }

// TestCaseOperationsTheCountyRefuses: a step on a case the county never
// opened, and a public case opened by another device than the county
// server's, are refused with their codes and store nothing; a case and its
// assignment in one change set are taken.
func TestCaseOperationsTheCountyRefuses(t *testing.T) {
	h := newHarness(t)
	d := h.device(townA, domain.RoleLeader)
	ref := d.published("窗口午间值守")
	node := h.node(t)

	town := h.rawEnrolled(t, townA)
	rc, _ := h.connectRaw(t, town)
	// A step that overtook its case (opened by another device, or pushed
	// again after the county was restored from a backup) is kept, as every
	// replica keeps it, and is no case until the case arrives.
	stray := protocol.NewEntityID()
	step := protocol.Op{Kind: protocol.OpCaseStep, Office: townA, Target: ref.ID,
		CaseStep: &protocol.CaseStep{Case: stray, Step: domain.CaseAcknowledged}}
	rc.accept(h, town, town.next(step))
	if cs, err := h.srv.Store().Cases(store.CaseFilter{Office: townA}); err != nil || len(cs) != 0 {
		t.Fatalf("a step without its case listed as a case: %+v %v", cs, err)
	}
	before := h.replicaSnapshot(t)

	adm := h.rawAdmin(t)
	ac, _ := h.connectRaw(t, adm)
	f := newFiling(t, h.key, node, ref, time.Now(), nil)
	public := protocol.PublicCaseOps(f.in, f.raw, nil, domain.ChinaDate(f.in.Filed).AddDays(3), domain.ChinaDate(f.in.Filed).AddDays(20))
	ac.push(adm.build(1, protocol.Hash{}, 1, asAdmin, public...))
	ac.wantRefused(protocol.CodeNotAuthorized)
	h.wantUnchanged(t, before)
	h.wantIncidentFor(t, adm.id, protocol.CodeNotAuthorized)

	// A county case and its assignment together: the step follows the
	// opening in the same change set.
	id := protocol.NewEntityID()
	filed := time.Now().UnixMilli()
	due := domain.ChinaDate(filed).AddDays(10)
	ops := []protocol.Op{
		{Kind: protocol.OpCase, Office: townA, Target: ref.ID, Case: &protocol.Case{ID: id, Kind: domain.CaseComplaint, Source: domain.CaseSourceCounty,
			Number: protocol.CaseNumber(domain.CaseComplaint, filed, id), Text: "来信反映窗口无人", Filed: filed}},
		{Kind: protocol.OpCaseStep, Office: townA, Target: ref.ID, CaseStep: &protocol.CaseStep{Case: id, Step: domain.CaseAssigned,
			AckDue: due, AnswerDue: due.AddDays(10)}},
	}
	cs := adm.build(1, protocol.Hash{}, 1, asAdmin, ops...)
	ac.accept(h, adm, cs)
	if c, err := h.srv.Store().Case(townA, id); err != nil || c.AnswerDue != due.AddDays(10).String() {
		t.Fatalf("county case: %+v %v", c, err)
	}
}

// TestServerDevice: the county server's own device is registered by init,
// with a certificate the county issued (office the county, a county-admin
// device); it is neither in the device list nor revocable; a municipal
// node receives its certificate before its first change set.
func TestServerDevice(t *testing.T) {
	h := newHarness(t)
	dev := h.srv.ServerDevice()
	want := protocol.DeviceIDFromKey(protocol.ServerDeviceKey(h.srv.Identity().Key).Public().(ed25519.PublicKey))
	if dev != want {
		t.Fatalf("server device %s, derived %s", dev, want)
	}
	rec, err := h.srv.Store().DeviceRecord(dev)
	if err != nil || !rec.Admin || rec.Office != countyCode || rec.Revoked {
		t.Fatalf("device record %+v %v", rec, err)
	}
	if err := h.srv.Revoke(dev, "试试", "admin"); !errors.Is(err, protocol.ErrInvalidOperation) {
		t.Fatalf("revoking the server device: %v", err)
	}
	devs, err := h.apiClient(t).Devices(context.Background())
	if err != nil || slices.ContainsFunc(devs, func(d countyapi.DeviceInfo) bool { return d.ID == dev }) {
		t.Fatalf("devices %+v %v", devs, err)
	}
	// A restart keeps it, with the same certificate.
	h.stop()
	h.start("127.0.0.1:0")
	if h.srv.ServerDevice() != dev {
		t.Fatal("the server device changed with a restart")
	}

	d := h.device(townA, domain.RoleLeader)
	ref := d.published("窗口午间值守")
	node := h.node(t)
	in := h.openPublicCase(t, node, ref, time.Now(), nil)
	c, _ := h.upstream(t, node, 0)
	head, _ := h.srv.Store().FeedHead()
	frames := c.until(head)
	i := slices.IndexFunc(frames, func(f *protocol.Frame) bool {
		cs, err := protocol.Decode(f.Body)
		return f.Type == protocol.FrameUpstreamEntry && err == nil && cs.Device == dev
	})
	if i < 1 || frames[i-1].Type != protocol.FrameCertificate {
		t.Fatalf("the case's change set at %d without the certificate before it", i)
	}
	cert, err := protocol.OpenCertificate(frames[i-1].Body, h.key)
	if err != nil || cert.Device != dev || !cert.Admin || cert.Office != countyCode || cert.Name != "县级平台" {
		t.Fatalf("certificate %+v %v", cert, err)
	}
	if _, err := h.srv.Store().Case(townA, in.ID); err != nil {
		t.Fatal(err)
	}
}
