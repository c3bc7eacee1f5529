package protocol_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// Case fixtures. The municipal node and the county key are deterministic
// test devices; the intake is filed on 2026-03-02 at 09:00 China time.

const intakeFiled = int64(1772413200000)

// nodeDevice is the municipal node that signs the intakes of the tests.
func nodeDevice(tb testing.TB) *device { return newDevice(tb, "municipal-node", "4103", false) }

// countyKeyDevice holds the county key the filer's contact is sealed to.
func countyKeyDevice(tb testing.TB) *device { return newDevice(tb, "county-key", county, true) }

// attachmentContent is the file the public filed with the test complaint.
var attachmentContent = []byte("\x89PNG\r\n\x1a\n 楼道照片")

// testIntake returns a complaint about commitment entityID(1) of the
// township, filed with one attachment and a contact, signed by the node.
func testIntake(tb testing.TB) (*protocol.Intake, []byte) {
	tb.Helper()
	contact, err := protocol.SealContact(protocol.Contact{Name: "张三", Phone: "13800138000"}, countyKeyDevice(tb).pub)
	if err != nil {
		tb.Fatal(err)
	}
	id := entityID(77)
	in := &protocol.Intake{ID: id, Number: protocol.CaseNumber(domain.CaseComplaint, intakeFiled, id), Kind: domain.CaseComplaint,
		Office: township, Commitment: entityID(1), Text: "楼道灯坏了三个月，多次反映无人修理。",
		Attachments: []protocol.Attachment{{Hash: protocol.HashOf(attachmentContent), Name: "楼道.png", MIME: domain.MIMEPNG, Size: int64(len(attachmentContent))}},
		TrackHash:   protocol.TrackHash(id, "7K3M9Q2P0ABC"), Contact: contact, Filed: intakeFiled}
	b := in.Sign(nodeDevice(tb).priv)
	return in, b
}

// publicCaseOp opens the case of testIntake, as the county server does.
func publicCaseOp(tb testing.TB) protocol.Op {
	tb.Helper()
	in, b := testIntake(tb)
	boxes, err := protocol.SealContacts(protocol.Contact{Name: "张三", Phone: "13800138000"}, countyKeyDevice(tb).pub,
		[]protocol.DeviceInfo{newDevice(tb, "township", township, false).info, newDevice(tb, "township-2", township, false).info})
	if err != nil {
		tb.Fatal(err)
	}
	return protocol.Op{Kind: protocol.OpCase, Office: in.Office, Target: in.Commitment, Case: &protocol.Case{
		ID: in.ID, Kind: in.Kind, Source: domain.CaseSourcePublic, Number: in.Number, Text: in.Text,
		Evidence: in.Evidence(), Filed: in.Filed, Intake: b, Contact: boxes}}
}

// countyCaseOp is a complaint a county admin records (received by letter).
func countyCaseOp() protocol.Op {
	id := entityID(78)
	return protocol.Op{Kind: protocol.OpCase, Office: township, Target: entityID(1), Case: &protocol.Case{
		ID: id, Kind: domain.CaseComplaint, Source: domain.CaseSourceCounty, Number: protocol.CaseNumber(domain.CaseComplaint, intakeFiled, id),
		Text: "来信反映：走访未落实。", Filed: intakeFiled}}
}

// townshipObjectionOp is the township's objection to dishonesty record
// entityID(9).
func townshipObjectionOp() protocol.Op {
	id := entityID(79)
	return protocol.Op{Kind: protocol.OpCase, Office: township, Target: entityID(1), Case: &protocol.Case{
		ID: id, Kind: domain.CaseObjection, Source: domain.CaseSourceTownship, Number: protocol.CaseNumber(domain.CaseObjection, intakeFiled, id),
		Record: entityID(9), Text: "该记录所述逾期系上级调整任务所致，申请更正。", Evidence: []protocol.Hash{protocol.HashOf([]byte("调整通知"))}, Filed: intakeFiled}}
}

// caseStepOp returns a valid step of the given kind on case entityID(77).
func caseStepOp(step domain.CaseStep) protocol.Op {
	s := &protocol.CaseStep{Case: entityID(77), Step: step}
	switch step {
	case domain.CaseAssigned:
		s.AckDue, s.AnswerDue = calendar.NewDate(2026, 3, 5), calendar.NewDate(2026, 3, 23)
	case domain.CaseReply:
		s.Text = "已于3月4日更换楼道灯具，并建立巡查台账。"
		s.Evidence = protocol.SortHashes([]protocol.Hash{protocol.HashOf([]byte("更换照片")), protocol.HashOf([]byte("台账"))})
	case domain.CaseApproved:
		s.Ref = protocol.OpID{Device: protocol.DeviceID{0x7a, 0x7a, 0x7a}, Num: 12}
	case domain.CaseAccepted:
		s.Finding, s.Text = domain.FindingUpheld, "反映属实，已整改。"
	case domain.CaseReturned:
		s.Text = "答复未说明长效机制，请补充。"
	case domain.CaseDecided:
		s.Finding, s.Text = domain.FindingRejected, "经核查，记录事实清楚。"
	case domain.CaseLinked:
		s.Record = entityID(10)
	case domain.CaseWithdrawn:
		s.Text = "重复投诉，已并入TS20260302-0000000A办理。"
	}
	return protocol.Op{Kind: protocol.OpCaseStep, Office: township, Target: entityID(1), CaseStep: s}
}

// signer is who validates an operation: the author's role and whether the
// device is a county-admin device.
type signer struct {
	role  domain.Role
	admin bool
}

var (
	countyAdmin = signer{domain.RoleCountyAdmin, true}
	townLeader  = signer{domain.RoleLeader, false}
	townStaff   = signer{domain.RoleStaff, false}
)

// leastTownshipSigner returns the least signer of the township that may
// take a step; ok is false for the county's steps.
func leastTownshipSigner(step domain.CaseStep) (signer, bool) {
	switch step.LeastRole() {
	case domain.RoleStaff:
		return townStaff, true
	case domain.RoleLeader:
		return townLeader, true
	}
	return signer{}, false
}

func TestCaseValid(t *testing.T) {
	valid := []struct {
		name string
		op   protocol.Op
		by   signer
	}{
		{"public complaint", publicCaseOp(t), countyAdmin},
		{"county complaint", countyCaseOp(), countyAdmin},
		{"township objection", townshipObjectionOp(), townLeader},
	}
	for _, step := range domain.CaseSteps() {
		valid = append(valid, struct {
			name string
			op   protocol.Op
			by   signer
		}{"step " + string(step) + " by the county", caseStepOp(step), countyAdmin})
		if s, ok := leastTownshipSigner(step); ok {
			valid = append(valid, struct {
				name string
				op   protocol.Op
				by   signer
			}{"step " + string(step) + " by the township", caseStepOp(step), s})
		}
	}
	for _, v := range valid {
		op := number(1, hlc0, v.op)[0]
		if err := op.Validate(v.by.role, v.by.admin); err != nil {
			t.Errorf("%s: %v", v.name, err)
		}
		// Every valid operation survives encoding.
		got, err := protocol.DecodeOp(protocol.AppendOp(nil, &op))
		if err != nil || !reflect.DeepEqual(got, op) {
			t.Errorf("%s: DecodeOp(AppendOp) = %+v, %v", v.name, got, err)
		}
	}
}

// TestCaseValidate: every rule of an OpCase, one row each, with the code
// the receiver gives.
func TestCaseValidate(t *testing.T) {
	const invalid, unauthorized = protocol.CodeInvalidOperation, protocol.CodeNotAuthorized
	public, county, town := publicCaseOp(t), countyCaseOp(), townshipObjectionOp()
	boxes := func(n int) []protocol.ContactBox {
		var out []protocol.ContactBox
		for i := range n {
			out = append(out, protocol.ContactBox{Device: protocol.DeviceID{byte(i + 1)}, Box: make([]byte, 60)})
		}
		return out
	}
	hashes := func(n int) []protocol.Hash {
		var out []protocol.Hash
		for i := range n {
			out = append(out, protocol.HashOf([]byte{byte(i)}))
		}
		return protocol.SortHashes(out)
	}
	otherIntake := func(edit func(*protocol.Intake)) []byte {
		in, _ := testIntake(t)
		edit(in)
		in.Number = protocol.CaseNumber(in.Kind, in.Filed, in.ID)
		return in.Sign(nodeDevice(t).priv)
	}
	cases := []struct {
		name string
		base protocol.Op
		by   signer
		edit func(op *protocol.Op, c *protocol.Case)
		want protocol.Code
	}{
		// Who may open which case.
		{"public case from a township device", public, townLeader, nil, unauthorized},
		{"public case by a leader on a county-admin device", public, signer{domain.RoleLeader, true}, nil, unauthorized},
		{"county case from a township device", county, townLeader, nil, unauthorized},
		{"township objection by staff", town, townStaff, nil, unauthorized},
		{"township objection from a county-admin device", town, countyAdmin, nil, unauthorized},
		{"township complaint", town, townLeader, func(_ *protocol.Op, c *protocol.Case) { c.Kind, c.Record = domain.CaseComplaint, protocol.EntityID{} }, invalid},
		{"unknown source", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Source = "press" }, invalid},
		// The intake.
		{"public case without intake", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Intake = nil }, invalid},
		{"county case with an intake", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Intake = public.Case.Intake }, invalid},
		{"intake that does not decode", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Intake = []byte("JNCI\x01garbage") }, invalid},
		{"intake cut short", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Intake = c.Intake[:len(c.Intake)-1] }, invalid},
		{"intake too large", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Intake = make([]byte, protocol.MaxIntakeBytes+1) }, invalid},
		{"intake of another case", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) {
			c.Intake = otherIntake(func(in *protocol.Intake) { in.ID = entityID(80) })
		}, invalid},
		{"intake of another text", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Text += "补充" }, invalid},
		{"intake of another office", public, countyAdmin, func(op *protocol.Op, _ *protocol.Case) { op.Office = township2 }, invalid},
		{"intake of another commitment", public, countyAdmin, func(op *protocol.Op, _ *protocol.Case) { op.Target = entityID(2) }, invalid},
		{"intake of other files", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Evidence = hashes(1) }, invalid},
		{"intake of another time", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) {
			c.Filed += 86400_000
			c.Number = protocol.CaseNumber(c.Kind, c.Filed, c.ID)
		}, invalid},
		{"intake of another kind", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) {
			c.Kind, c.Record = domain.CaseObjection, entityID(9)
			c.Number = protocol.CaseNumber(c.Kind, c.Filed, c.ID)
		}, invalid},
		{"intake of another number", public, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Number = "TS20260302-00000000" }, invalid},
		// The body.
		{"no ID", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.ID = protocol.EntityID{} }, invalid},
		{"unknown kind", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Kind = "praise" }, invalid},
		{"no number", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Number = "" }, invalid},
		{"number not ASCII", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Number = "投诉-1" }, invalid},
		{"number with a control character", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Number = "TS\n1" }, invalid},
		{"number too long", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Number = strings.Repeat("1", 33) }, invalid},
		{"complaint naming a record", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Record = entityID(9) }, invalid},
		{"objection without its record", town, townLeader, func(_ *protocol.Op, c *protocol.Case) { c.Record = protocol.EntityID{} }, invalid},
		{"blank text", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Text = " \n" }, invalid},
		{"text too long", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Text = strings.Repeat("字", domain.MaxCaseTextRunes+1) }, invalid},
		{"text with a control character", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Text = "a\x1b[2Jb" }, invalid},
		{"four files", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Evidence = hashes(4) }, invalid},
		{"files not sorted", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Evidence = []protocol.Hash{{2}, {1}} }, invalid},
		{"a file twice", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Evidence = []protocol.Hash{{1}, {1}} }, invalid},
		{"no filing time", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Filed = 0 }, invalid},
		{"negative filing time", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Filed = -1 }, invalid},
		{"seventeen contact boxes", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) { c.Contact = boxes(17) }, invalid},
		{"contact boxes not sorted", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) {
			c.Contact = boxes(2)
			slices.Reverse(c.Contact)
		}, invalid},
		{"a device's contact twice", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) {
			c.Contact = []protocol.ContactBox{boxes(1)[0], boxes(1)[0]}
		}, invalid},
		{"contact box too small to be sealed", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) {
			c.Contact = []protocol.ContactBox{{Box: make([]byte, 48)}}
		}, invalid},
		{"contact box too large", county, countyAdmin, func(_ *protocol.Op, c *protocol.Case) {
			c.Contact = []protocol.ContactBox{{Box: make([]byte, protocol.MaxContactBoxBytes+1)}}
		}, invalid},
		// The operation around it.
		{"a reason", county, countyAdmin, func(op *protocol.Op, _ *protocol.Case) { op.Reason = "x" }, invalid},
		{"a field write", county, countyAdmin, func(op *protocol.Op, _ *protocol.Case) {
			op.Writes = []protocol.FieldWrite{{Field: domain.FieldTitle, Value: "x"}}
		}, invalid},
		{"no commitment", county, countyAdmin, func(op *protocol.Op, _ *protocol.Case) { op.Target = protocol.EntityID{} }, invalid},
		{"no body", county, countyAdmin, func(op *protocol.Op, _ *protocol.Case) { op.Case = nil }, invalid},
		{"a step body too", county, countyAdmin, func(op *protocol.Op, _ *protocol.Case) { op.CaseStep = caseStepOp(domain.CaseAssigned).CaseStep }, invalid},
		{"a case body on a fulfilment", county, countyAdmin, func(op *protocol.Op, c *protocol.Case) {
			*op = fulfilOp(t, township, entityID(1))
			op.Case = c
		}, invalid},
		{"a case body on a dishonesty step", county, countyAdmin, func(op *protocol.Op, c *protocol.Case) {
			*op = stepOp(township, entityID(1), entityID(9), domain.StepRepaired)
			op.Case = c
		}, invalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op := cloneOp(t, c.base)
			if c.edit != nil {
				c.edit(&op, op.Case)
			}
			op = number(1, hlc0, op)[0]
			err := op.Validate(c.by.role, c.by.admin)
			if got := protocol.CodeOf(err); got != c.want {
				t.Fatalf("Validate = %v (%q), want %q", err, got, c.want)
			}
		})
	}
}

// TestCaseStepValidate: every rule of an OpCaseStep, one row each.
func TestCaseStepValidate(t *testing.T) {
	const invalid, unauthorized = protocol.CodeInvalidOperation, protocol.CodeNotAuthorized
	type row struct {
		name string
		step domain.CaseStep
		by   signer
		edit func(s *protocol.CaseStep)
		want protocol.Code
	}
	var cases []row
	// Who may take which step.
	for _, step := range domain.CaseSteps() {
		if step.AdminOnly() {
			cases = append(cases, row{string(step) + " from a township device", step, townLeader, nil, unauthorized})
		} else {
			cases = append(cases, row{string(step) + " by a leader on a county-admin device", step, signer{domain.RoleLeader, true}, nil, unauthorized})
		}
	}
	cases = append(cases,
		row{"approval by staff", domain.CaseApproved, townStaff, nil, unauthorized},
		row{"unknown step", domain.CaseReply, countyAdmin, func(s *protocol.CaseStep) { s.Step = "forgiven" }, invalid},
		row{"no case", domain.CaseReply, townStaff, func(s *protocol.CaseStep) { s.Case = protocol.EntityID{} }, invalid},
		// Texts.
		row{"reply without text", domain.CaseReply, townStaff, func(s *protocol.CaseStep) { s.Text = " " }, invalid},
		row{"return without reason", domain.CaseReturned, countyAdmin, func(s *protocol.CaseStep) { s.Text = "" }, invalid},
		row{"decision without reason", domain.CaseDecided, countyAdmin, func(s *protocol.CaseStep) { s.Text = "" }, invalid},
		row{"withdrawal without reason", domain.CaseWithdrawn, countyAdmin, func(s *protocol.CaseStep) { s.Text = "" }, invalid},
		row{"reply too long", domain.CaseReply, townStaff, func(s *protocol.CaseStep) { s.Text = strings.Repeat("答", domain.MaxCaseTextRunes+1) }, invalid},
		row{"reply with a control character", domain.CaseReply, townStaff, func(s *protocol.CaseStep) { s.Text = "a\x00b" }, invalid},
		// Evidence.
		row{"evidence on an acknowledgement", domain.CaseAcknowledged, townStaff, func(s *protocol.CaseStep) { s.Evidence = []protocol.Hash{{1}} }, invalid},
		row{"evidence not sorted", domain.CaseReply, townStaff, func(s *protocol.CaseStep) { s.Evidence = []protocol.Hash{{2}, {1}} }, invalid},
		row{"evidence repeated", domain.CaseReply, townStaff, func(s *protocol.CaseStep) { s.Evidence = []protocol.Hash{{1}, {1}} }, invalid},
		row{"too much evidence", domain.CaseReply, townStaff, func(s *protocol.CaseStep) {
			s.Evidence = nil
			for i := range protocol.MaxEvidencePerEntry + 1 {
				s.Evidence = append(s.Evidence, protocol.HashOf([]byte{byte(i)}))
			}
			s.Evidence = protocol.SortHashes(s.Evidence)
		}, invalid},
		// The approved reply.
		row{"approval naming no reply", domain.CaseApproved, townLeader, func(s *protocol.CaseStep) { s.Ref = protocol.OpID{} }, invalid},
		row{"approval naming operation 0", domain.CaseApproved, townLeader, func(s *protocol.CaseStep) { s.Ref.Num = 0 }, invalid},
		row{"approval naming no device", domain.CaseApproved, townLeader, func(s *protocol.CaseStep) { s.Ref.Device = protocol.DeviceID{} }, invalid},
		row{"reply naming a reply", domain.CaseReply, townStaff, func(s *protocol.CaseStep) { s.Ref = protocol.OpID{Device: protocol.DeviceID{1}, Num: 1} }, invalid},
		// The linked record.
		row{"link naming no record", domain.CaseLinked, countyAdmin, func(s *protocol.CaseStep) { s.Record = protocol.EntityID{} }, invalid},
		row{"withdrawal naming a record", domain.CaseWithdrawn, countyAdmin, func(s *protocol.CaseStep) { s.Record = entityID(10) }, invalid},
		// Findings.
		row{"acceptance without a finding", domain.CaseAccepted, countyAdmin, func(s *protocol.CaseStep) { s.Finding = "" }, invalid},
		row{"acceptance finding rejected", domain.CaseAccepted, countyAdmin, func(s *protocol.CaseStep) { s.Finding = domain.FindingRejected }, invalid},
		row{"decision finding not upheld", domain.CaseDecided, countyAdmin, func(s *protocol.CaseStep) { s.Finding = domain.FindingNotUpheld }, invalid},
		row{"decision without a finding", domain.CaseDecided, countyAdmin, func(s *protocol.CaseStep) { s.Finding = "" }, invalid},
		row{"reply with a finding", domain.CaseReply, townStaff, func(s *protocol.CaseStep) { s.Finding = domain.FindingUpheld }, invalid},
		// Deadlines.
		row{"assignment without answer deadline", domain.CaseAssigned, countyAdmin, func(s *protocol.CaseStep) { s.AnswerDue = calendar.Date{} }, invalid},
		row{"answer deadline before acknowledgement", domain.CaseAssigned, countyAdmin, func(s *protocol.CaseStep) {
			s.AckDue, s.AnswerDue = s.AnswerDue, s.AckDue
		}, invalid},
		row{"acknowledgement with a deadline", domain.CaseAcknowledged, townStaff, func(s *protocol.CaseStep) { s.AckDue = calendar.NewDate(2026, 3, 5) }, invalid},
		row{"reply with an answer deadline", domain.CaseReply, townStaff, func(s *protocol.CaseStep) { s.AnswerDue = calendar.NewDate(2026, 3, 5) }, invalid},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op := cloneOp(t, caseStepOp(c.step))
			if c.edit != nil {
				c.edit(op.CaseStep)
			}
			op = number(1, hlc0, op)[0]
			err := op.Validate(c.by.role, c.by.admin)
			if got := protocol.CodeOf(err); got != c.want {
				t.Fatalf("Validate = %v (%q), want %q", err, got, c.want)
			}
		})
	}
	// An assignment without an acknowledgement deadline is valid (an
	// objection has none), and so is one where both fall on one day.
	for _, edit := range []func(s *protocol.CaseStep){
		func(s *protocol.CaseStep) { s.AckDue = calendar.Date{} },
		func(s *protocol.CaseStep) { s.AckDue = s.AnswerDue },
	} {
		op := cloneOp(t, caseStepOp(domain.CaseAssigned))
		edit(op.CaseStep)
		op = number(1, hlc0, op)[0]
		if err := op.Validate(domain.RoleCountyAdmin, true); err != nil {
			t.Errorf("assignment %+v: %v", op.CaseStep, err)
		}
	}
}

// cloneOp returns a deep copy of op, through its encoding.
func cloneOp(tb testing.TB, op protocol.Op) protocol.Op {
	tb.Helper()
	got, err := protocol.DecodeOp(protocol.AppendOp(nil, &op))
	if err != nil {
		tb.Fatalf("cloning %s: %v", op.Kind, err)
	}
	return got
}

// TestCaseVerify: case operations in signed change sets, as a receiver sees
// them: accepted from the right signer, refused with the right code from
// the wrong one, whatever office it claims.
func TestCaseVerify(t *testing.T) {
	w := newWorld(t)
	ok := []struct {
		name string
		dev  *device
		role domain.Role
		ops  []protocol.Op
	}{
		{"county opens and assigns", w.admin, domain.RoleCountyAdmin, []protocol.Op{publicCaseOp(t), caseStepOp(domain.CaseAssigned)}},
		{"township acknowledges and replies", w.town, domain.RoleStaff, []protocol.Op{caseStepOp(domain.CaseAcknowledged), caseStepOp(domain.CaseReply)}},
		{"leader approves", w.town, domain.RoleLeader, []protocol.Op{caseStepOp(domain.CaseApproved)}},
		{"leader objects", w.town, domain.RoleLeader, []protocol.Op{townshipObjectionOp()}},
	}
	for _, c := range ok {
		cs := w.set(t, c.dev, c.role, nil, c.ops...)
		got, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, c.dev.id)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got.Ops, cs.Ops) {
			t.Errorf("%s: ops differ after decode", c.name)
		}
	}
	reply := caseStepOp(domain.CaseReply)
	reply.Office = township
	otherReply := cloneOp(t, reply)
	otherReply.Office = township2 // the neighbour answering for its own office a case it has not got
	refused := []struct {
		name string
		dev  *device
		role domain.Role
		op   protocol.Op
		want protocol.Code
	}{
		{"a reply from another township's device", w.neigh, domain.RoleLeader, reply, protocol.CodeOutOfScope},
		{"a township accepting its own reply", w.town, domain.RoleLeader, caseStepOp(domain.CaseAccepted), protocol.CodeNotAuthorized},
		{"a township opening a public case", w.town, domain.RoleLeader, publicCaseOp(t), protocol.CodeNotAuthorized},
		{"a township opening a county case", w.town, domain.RoleLeader, countyCaseOp(), protocol.CodeNotAuthorized},
		{"staff approving", w.town, domain.RoleStaff, caseStepOp(domain.CaseApproved), protocol.CodeNotAuthorized},
		{"a case for another county", w.admin, domain.RoleCountyAdmin, func() protocol.Op {
			op := countyCaseOp()
			op.Office = otherTownship
			return op
		}(), protocol.CodeOutOfScope},
	}
	for _, c := range refused {
		cs := w.set(t, c.dev, c.role, nil, c.op)
		got, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, c.dev.id)
		if protocol.CodeOf(err) != c.want || got != nil {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	// The neighbour's reply for its own office is well formed: that no such
	// case exists there is for the store to see, not Verify.
	if _, err := protocol.Verify(w.set(t, w.neigh, domain.RoleStaff, nil, otherReply).Bytes(), w.reg, memChains{}, w.neigh.id); err != nil {
		t.Errorf("a reply for the neighbour's own office: %v", err)
	}
}

// TestCaseDecodeRefuses: the case bodies have one encoding; anything else
// is malformed.
func TestCaseDecodeRefuses(t *testing.T) {
	enc := func(op protocol.Op) []byte {
		op = number(1, hlc0, op)[0]
		return protocol.AppendOp(nil, &op)
	}
	withCase := func(edit func(c *protocol.Case)) []byte {
		op := cloneOp(t, countyCaseOp())
		edit(op.Case)
		return enc(op)
	}
	withStep := func(step domain.CaseStep, edit func(s *protocol.CaseStep)) []byte {
		op := cloneOp(t, caseStepOp(step))
		edit(op.CaseStep)
		return enc(op)
	}
	// The tail of an acknowledgement: ref device, ref num 0, finding "",
	// dates "", "", record.
	ack := enc(caseStepOp(domain.CaseAcknowledged))
	tail := len(ack) - 16 - 3 - 1
	nonMinimal := slices.Concat(ack[:tail], []byte{0x80, 0x00}, ack[tail+1:])
	badDate := func(s string) []byte {
		return slices.Concat(ack[:tail+2], []byte{byte(len(s))}, []byte(s), ack[tail+3:])
	}
	cases := map[string][]byte{
		"case files not sorted": withCase(func(c *protocol.Case) { c.Evidence = []protocol.Hash{{2}, {1}} }),
		"case file repeated":    withCase(func(c *protocol.Case) { c.Evidence = []protocol.Hash{{1}, {1}} }),
		"four case files":       withCase(func(c *protocol.Case) { c.Evidence = []protocol.Hash{{1}, {2}, {3}, {4}} }),
		"contact not sorted": withCase(func(c *protocol.Case) {
			c.Contact = []protocol.ContactBox{{Device: protocol.DeviceID{2}}, {Device: protocol.DeviceID{1}}}
		}),
		"contact device twice": withCase(func(c *protocol.Case) {
			c.Contact = []protocol.ContactBox{{Device: protocol.DeviceID{1}}, {Device: protocol.DeviceID{1}}}
		}),
		"contact box too large": withCase(func(c *protocol.Case) {
			c.Contact = []protocol.ContactBox{{Box: make([]byte, protocol.MaxContactBoxBytes+1)}}
		}),
		"seventeen contact boxes":      withCase(func(c *protocol.Case) { c.Contact = make([]protocol.ContactBox, protocol.MaxContactBoxes+1) }),
		"intake too large":             withCase(func(c *protocol.Case) { c.Intake = make([]byte, protocol.MaxIntakeBytes+1) }),
		"case text too long":           withCase(func(c *protocol.Case) { c.Text = strings.Repeat("a", domain.MaxCaseTextBytes+1) }),
		"case number too long":         withCase(func(c *protocol.Case) { c.Number = strings.Repeat("1", protocol.MaxCaseNumberBytes+1) }),
		"case text not UTF-8":          withCase(func(c *protocol.Case) { c.Text = "\xff" }),
		"step files not sorted":        withStep(domain.CaseReply, func(s *protocol.CaseStep) { s.Evidence = []protocol.Hash{{2}, {1}} }),
		"step text too long":           withStep(domain.CaseReply, func(s *protocol.CaseStep) { s.Text = strings.Repeat("a", domain.MaxCaseTextBytes+1) }),
		"non-minimal reference number": nonMinimal,
		"deadline not a date":          badDate("2026-02-30"),
		"deadline in another form":     badDate("2026/03/05"),
		"truncated step":               ack[:len(ack)-1],
		"trailing byte":                append(bytes.Clone(ack), 0),
		"truncated case":               func() []byte { b := enc(countyCaseOp()); return b[:len(b)-1] }(),
	}
	for name, b := range cases {
		if op, err := protocol.DecodeOp(b); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("%s: DecodeOp = %+v, %v; want malformed", name, op, err)
		}
	}
	// The splicing above works on a valid encoding.
	if _, err := protocol.DecodeOp(slices.Concat(ack[:tail], []byte{0x05}, ack[tail+1:])); err != nil {
		t.Fatalf("reference number 5 spliced in: %v", err)
	}
	if op, err := protocol.DecodeOp(badDate("2026-03-05")); err != nil || op.CaseStep.AckDue != calendar.NewDate(2026, 3, 5) {
		t.Fatalf("a good date spliced in: %+v, %v", op, err)
	}
}

// TestOlderKindsUnchanged: a case body is encoded for the case kinds only,
// so an operation of any older kind has exactly the bytes it had.
func TestOlderKindsUnchanged(t *testing.T) {
	w := newWorld(t)
	for _, op := range everyTownshipKind(t, w.town, 1) {
		withBody := op
		withBody.Case, withBody.CaseStep = &protocol.Case{ID: entityID(1)}, &protocol.CaseStep{Case: entityID(1)}
		if !bytes.Equal(protocol.AppendOp(nil, &op), protocol.AppendOp(nil, &withBody)) {
			t.Errorf("%s: a stray case body changes the encoding", op.Kind)
		}
	}
}

// TestPublicCaseOps: the operations the county signs for an intake are
// valid for a county-admin device and open exactly the case filed.
func TestPublicCaseOps(t *testing.T) {
	w := newWorld(t)
	in, raw := testIntake(t)
	ops := protocol.PublicCaseOps(in, raw, publicCaseOp(t).Case.Contact, calendar.NewDate(2026, 3, 5), calendar.NewDate(2026, 3, 23))
	if len(ops) != 3 || ops[0].Kind != protocol.OpEvidence || ops[1].Kind != protocol.OpCase || ops[2].Kind != protocol.OpCaseStep {
		t.Fatalf("ops: %+v", ops)
	}
	if ops[0].Meta.Hash != in.Attachments[0].Hash || ops[2].CaseStep.Case != in.ID || ops[2].CaseStep.Step != domain.CaseAssigned {
		t.Fatalf("ops: %+v", ops)
	}
	cs := w.set(t, w.admin, domain.RoleCountyAdmin, nil, ops...)
	got, err := protocol.Verify(cs.Bytes(), w.reg, memChains{}, w.admin.id)
	if err != nil {
		t.Fatal(err)
	}
	if err := protocol.CheckCaseIntake(&got.Ops[1], in); err != nil {
		t.Fatal(err)
	}
}

func TestServerDeviceKey(t *testing.T) {
	ck := wireCountyKey()
	key := protocol.ServerDeviceKey(ck)
	seed := sha256.Sum256(append([]byte("jiannuo/server-device/v1\x00"), ck.Seed()...))
	if !bytes.Equal(key.Seed(), seed[:]) {
		t.Fatal("server device seed is not SHA-256 of the context and the county seed")
	}
	if !bytes.Equal(protocol.ServerDeviceKey(ck), key) || bytes.Equal(key.Public().(ed25519.PublicKey), ck.Public().(ed25519.PublicKey)) {
		t.Fatal("server device key not deterministic, or the county key itself")
	}
}
