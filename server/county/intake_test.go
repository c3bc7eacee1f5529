package county_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Cases the public files on a municipal page reach the county as signed
// intakes on the upstream session. These tests play the municipal node
// with the bare upstream client of upstream_test.go, so they can send what
// a node never would.

// The filer's contact in these tests: it must never appear where it must
// not be.
var testContact = protocol.Contact{Name: "张三丰", Phone: "138 0013 8000"}

// jpegFile and pdfFile are files of n bytes whose content sniffs as JPEG
// and PDF.
func jpegFile(n int, seed byte) []byte {
	b := bytes.Repeat([]byte{seed}, n)
	copy(b, "\xff\xd8\xff\xe0")
	return b
}

func pdfFile(n int, seed byte) []byte {
	b := bytes.Repeat([]byte{seed}, n)
	copy(b, "%PDF-1.7\n")
	return b
}

// filing is a case as a municipal node files it: the intake it signs and
// the content of its attachments.
type filing struct {
	in    *protocol.Intake
	raw   []byte
	files map[protocol.Hash][]byte
}

// newFiling files a complaint about ref, filed at filed, with the files
// given (their type sniffed from them); edit, if not nil, changes the
// intake before node signs it.
func newFiling(t *testing.T, countyKey ed25519.PublicKey, node ed25519.PrivateKey, ref store.Ref, filed time.Time,
	edit func(*protocol.Intake), files ...[]byte) *filing {
	t.Helper()
	id := protocol.NewEntityID()
	in := &protocol.Intake{ID: id, Kind: domain.CaseComplaint, Office: ref.Office, Commitment: ref.ID,
		Text: "窗口中午经常无人值守，群众办事要等到下午。", Filed: filed.UnixMilli(),
		TrackHash: protocol.TrackHash(id, protocol.NewTrackingCode())}
	in.Number = protocol.CaseNumber(in.Kind, in.Filed, id)
	f := &filing{in: in, files: map[protocol.Hash][]byte{}}
	for i, data := range files {
		mime, err := domain.SniffAttachment(data)
		if err != nil {
			mime = domain.MIMEJPEG // a test that sends what is not one
		}
		h := protocol.Hash(sha256.Sum256(data))
		in.Attachments = append(in.Attachments, protocol.Attachment{Hash: h, Name: "现场照片" + string(rune('1'+i)) + ".jpg", MIME: mime, Size: int64(len(data))})
		f.files[h] = data
	}
	slices.SortFunc(in.Attachments, func(a, b protocol.Attachment) int { return bytes.Compare(a.Hash[:], b.Hash[:]) })
	sealed, err := protocol.SealContact(testContact, countyKey)
	if err != nil {
		t.Fatal(err)
	}
	in.Contact = sealed
	if edit != nil {
		edit(in)
	}
	f.raw = in.Sign(node)
	return f
}

// await reads frames until one of the given types arrives, skipping the
// feed; an error frame not asked for fails the test.
func (c *upstreamClient) await(types ...protocol.FrameType) *protocol.Frame {
	c.t.Helper()
	for {
		f := c.read()
		if slices.Contains(types, f.Type) {
			return f
		}
		if f.Type == protocol.FrameError {
			c.t.Fatalf("waiting for %v: error %s: %s", types, f.Code, f.Message)
		}
	}
}

// deliver sends a filing and the files the county asks for, until the
// county answers; it returns the answer.
func (c *upstreamClient) deliver(f *filing) *protocol.Frame {
	c.t.Helper()
	c.write(&protocol.Frame{Type: protocol.FrameCaseIntake, Body: f.raw})
	for {
		fr := c.await(protocol.FrameEvidenceWant, protocol.FrameCaseAccepted, protocol.FrameCaseRefused, protocol.FrameRefused)
		switch fr.Type {
		case protocol.FrameEvidenceWant:
			data, ok := f.files[fr.Hash]
			if !ok {
				c.t.Fatalf("the county asks for %s, not a file of the filing", fr.Hash)
			}
			for off := int(fr.Offset); off < len(data); off += protocol.MaxChunkBytes {
				end := min(off+protocol.MaxChunkBytes, len(data))
				c.write(&protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: fr.Hash, Offset: int64(off), Body: data[off:end]})
			}
		case protocol.FrameRefused:
			c.t.Fatalf("chunk refused: %s: %s", fr.Code, fr.Message)
		default:
			if fr.Case != f.in.ID {
				c.t.Fatalf("answer for case %s, want %s", fr.Case, f.in.ID)
			}
			return fr
		}
	}
}

// node is a municipal node the county has authorised.
func (h *harness) node(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(nil)
	if err := h.srv.AuthoriseUpstream(key.Public().(ed25519.PublicKey), "市信用平台"); err != nil {
		t.Fatal(err)
	}
	return key
}

// published is a commitment of the township that device d publishes and
// syncs.
func (d *device) published(title string) store.Ref {
	d.t.Helper()
	ref := d.create(title)
	if err := d.se.Publish(ref); err != nil {
		d.t.Fatal(err)
	}
	d.sync()
	return ref
}

// intakeLeftovers counts what the county keeps of intakes beside the
// replica: files being received and files waiting for their case.
func (h *harness) intakeLeftovers(t *testing.T) int {
	t.Helper()
	n := 0
	h.srv.Store().View(func(tx *bolt.Tx) error {
		for _, b := range []string{"x-intakepartial", "x-intakefiles"} {
			n += tx.Bucket([]byte(b)).Stats().KeyN
		}
		return nil
	})
	return n
}

// TestIntakeOpensCaseOnce: an intake from an authorised node, with two
// files and the filer's contact, opens one public case in one change set
// of the county server's own device: the intake inside, the files'
// metadata and content, the assignment with deadlines counted in working
// days from the filing day, the contact sealed to the county and to the
// township's device, which receives the case and opens the contact. Sent
// again, on another session, it is answered with the same position and
// opens nothing.
func TestIntakeOpensCaseOnce(t *testing.T) {
	h := newHarness(t)
	d := h.device(townA, domain.RoleLeader)
	ref := d.published("窗口午间值守")
	node := h.node(t)
	filed := time.Date(2026, 12, 7, 9, 30, 0, 0, time.FixedZone("CST", 8*3600)) // a Monday
	big := jpegFile(3*protocol.MaxChunkBytes+100, 'j')
	f := newFiling(t, h.key, node, ref, filed, nil, big, pdfFile(1000, 'p'))

	head, _ := h.srv.Store().FeedHead()
	c, _ := h.upstream(t, node, head)
	ans := c.deliver(f)
	if ans.Type != protocol.FrameCaseAccepted || ans.Pos != head+1 {
		t.Fatalf("answer %s at %d (%s), want case_accepted at %d", ans.Type, ans.Pos, ans.Message, head+1)
	}
	st := h.srv.Store()
	cs, err := st.Case(townA, f.in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Source != domain.CaseSourcePublic || cs.Number != f.in.Number || cs.Status != domain.CaseStatusOpen || cs.OpenedBy != store.ServerAuthor ||
		cs.Commitment != ref || len(cs.Evidence) != 2 || cs.TrackHash == nil || *cs.TrackHash != f.in.TrackHash {
		t.Fatalf("case %+v", cs)
	}
	// 3 and 15 working days after Monday 7 December 2026.
	if cs.AckDue != "2026-12-10" || cs.AnswerDue != "2026-12-28" {
		t.Fatalf("deadlines %s, %s", cs.AckDue, cs.AnswerDue)
	}
	fe, ok, err := st.FeedEntryOf(h.srv.ServerDevice(), 1)
	if err != nil || !ok || fe.Pos != ans.Pos || fe.Office != townA {
		t.Fatalf("the case's change set: %+v %v %v", fe, ok, err)
	}
	if raw, err := st.CaseIntake(townA, f.in.ID); err != nil || !bytes.Equal(raw, f.raw) {
		t.Fatalf("the intake in the case is not the one signed: %v", err)
	}
	for h2, data := range f.files {
		if got, err := st.EvidenceContent(h2); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("file %s: %v", h2, err)
		}
	}
	box, err := st.CaseContactBox(townA, f.in.ID, protocol.DeviceID{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := protocol.OpenContact(box, h.srv.Identity().Key); err != nil || got != testContact {
		t.Fatalf("the county's copy of the contact: %+v %v", got, err)
	}
	if n := h.intakeLeftovers(t); n != 0 {
		t.Fatalf("%d intake records left beside the replica", n)
	}

	// The same intake again, on a new session: the same answer, no case.
	c.conn.Close()
	head2, _ := st.FeedHead()
	c2, _ := h.upstream(t, node, head2)
	again := c2.deliver(f)
	if again.Type != protocol.FrameCaseAccepted || again.Pos != ans.Pos {
		t.Fatalf("again: %s at %d, want case_accepted at %d", again.Type, again.Pos, ans.Pos)
	}
	if h3, _ := st.FeedHead(); h3 != head2 {
		t.Fatalf("the repeated intake added %d change sets", h3-head2)
	}
	if all, _ := st.Cases(store.CaseFilter{}); len(all) != 1 {
		t.Fatalf("%d cases", len(all))
	}

	// The township's device receives the case and reads the contact
	// sealed to it.
	d.sync()
	got, err := d.st.Case(townA, f.in.ID)
	if err != nil || got.Number != f.in.Number || got.AnswerDue != "2026-12-28" {
		t.Fatalf("on the device: %+v %v", got, err)
	}
	if ct, err := d.se.CaseContact(townA, f.in.ID); err != nil || ct != testContact {
		t.Fatalf("the device's copy of the contact: %+v %v", ct, err)
	}
}

// TestIntakeRefusals: each intake a county must not take is refused for
// good with its stable code, recorded as an incident, and leaves the
// replica and the county's intake records as they were; the session goes
// on.
func TestIntakeRefusals(t *testing.T) {
	h := newHarness(t)
	d := h.device(townA, domain.RoleLeader)
	ref := d.published("窗口午间值守")
	draft := d.create("草稿承诺")
	d.sync()
	node := h.node(t)
	_, stranger, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	head, _ := h.srv.Store().FeedHead()
	c, _ := h.upstream(t, node, head)

	cases := []struct {
		name string
		f    func() *filing
		code protocol.Code
	}{
		{"forged signature", func() *filing {
			f := newFiling(t, h.key, node, ref, now, nil)
			f.raw[len(f.raw)-1] ^= 1
			return f
		}, protocol.CodeBadSignature},
		{"signed by another key naming the node", func() *filing {
			f := newFiling(t, h.key, stranger, ref, now, nil)
			body := f.raw[:len(f.raw)-ed25519.SignatureSize]
			nid := protocol.DeviceIDFromKey(node.Public().(ed25519.PublicKey))
			copy(body[len(body)-16:], nid[:])
			return &filing{in: f.in, raw: append(slices.Clone(body), ed25519.Sign(stranger, body)...), files: f.files}
		}, protocol.CodeBadSignature},
		{"node not authorised", func() *filing { return newFiling(t, h.key, stranger, ref, now, nil) }, protocol.CodeNotAuthorized},
		{"office outside the county", func() *filing {
			return newFiling(t, h.key, node, store.Ref{Office: "410325101", ID: ref.ID}, now, nil)
		}, protocol.CodeOutOfScope},
		{"unknown commitment", func() *filing {
			return newFiling(t, h.key, node, store.Ref{Office: townA, ID: protocol.NewEntityID()}, now, nil)
		}, protocol.CodeUnknownRecord},
		{"unpublished commitment", func() *filing { return newFiling(t, h.key, node, draft, now, nil) }, protocol.CodeUnknownRecord},
		{"objection to a record that does not exist", func() *filing {
			return newFiling(t, h.key, node, ref, now, func(in *protocol.Intake) {
				in.Kind, in.Record = domain.CaseObjection, protocol.NewEntityID()
				in.Number = protocol.CaseNumber(in.Kind, in.Filed, in.ID)
			})
		}, protocol.CodeUnknownRecord},
		{"text over 2000 characters", func() *filing {
			return newFiling(t, h.key, node, ref, now, func(in *protocol.Intake) { in.Text = strings.Repeat("长", domain.MaxCaseTextRunes+1) })
		}, protocol.CodeInvalidOperation},
		{"intake over 16 KiB", func() *filing {
			f := newFiling(t, h.key, node, ref, now, nil)
			f.raw = append(f.raw, make([]byte, protocol.MaxIntakeBytes)...)
			return f
		}, protocol.CodeOversize},
		{"not an intake", func() *filing {
			f := newFiling(t, h.key, node, ref, now, nil)
			f.raw = append([]byte("JNCI\x01"), f.in.ID[:]...)
			return f
		}, protocol.CodeMalformed},
		{"attachment larger than it says", func() *filing {
			f := newFiling(t, h.key, node, ref, now, nil, jpegFile(5000, 'a'))
			for h2 := range f.files {
				f.files[h2] = append(f.files[h2], 'x')
			}
			return f
		}, protocol.CodeOversize},
		{"attachment that hashes to something else", func() *filing {
			f := newFiling(t, h.key, node, ref, now, nil, jpegFile(5000, 'b'))
			for h2 := range f.files {
				f.files[h2][100] ^= 1
			}
			return f
		}, protocol.CodeEvidenceMismatch},
		{"attachment that is not what its type says", func() *filing {
			return newFiling(t, h.key, node, ref, now, func(in *protocol.Intake) { in.Attachments[0].MIME = domain.MIMEPNG }, jpegFile(3000, 'c'))
		}, protocol.CodeAttachmentType},
		{"attachment that is no image or PDF", func() *filing {
			return newFiling(t, h.key, node, ref, now, nil, []byte("<html><script>alert(1)</script></html>"))
		}, protocol.CodeAttachmentType},
		{"attachment type not allowed", func() *filing {
			return newFiling(t, h.key, node, ref, now, func(in *protocol.Intake) { in.Attachments[0].MIME = "text/html" }, jpegFile(300, 'd'))
		}, protocol.CodeAttachmentType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f()
			before := h.replicaSnapshot(t)
			incidents := len(h.incidentList(t))
			ans := c.deliver(f)
			if ans.Type != protocol.FrameCaseRefused || ans.Code != tc.code {
				t.Fatalf("answer %s %s (%s), want case_refused %s", ans.Type, ans.Code, ans.Message, tc.code)
			}
			h.wantUnchanged(t, before)
			if n := h.intakeLeftovers(t); n != 0 {
				t.Fatalf("%d intake records left", n)
			}
			in := h.incidentList(t)
			if len(in) != incidents+1 || in[0].Code != tc.code || in[0].Remote == "" {
				t.Fatalf("incidents %+v", in[:min(len(in), 2)])
			}
			if strings.Contains(in[0].Message, testContact.Name) || strings.Contains(in[0].Message, f.in.Text) {
				t.Fatalf("the incident quotes the filing: %s", in[0].Message)
			}
		})
	}
	// The session survived every refusal: a good intake still opens.
	if ans := c.deliver(newFiling(t, h.key, node, ref, now, nil)); ans.Type != protocol.FrameCaseAccepted {
		t.Fatalf("after the refusals: %s %s %s", ans.Type, ans.Code, ans.Message)
	}
}

// TestIntakeResumesUpload: a session cut while a file is being received
// resumes with the next session from where the county got to, and the
// case opens once.
func TestIntakeResumesUpload(t *testing.T) {
	h := newHarness(t)
	d := h.device(townA, domain.RoleLeader)
	ref := d.published("路灯报修")
	node := h.node(t)
	data := pdfFile(4*protocol.MaxChunkBytes, 'r')
	f := newFiling(t, h.key, node, ref, time.Now(), nil, data)
	c, _ := h.upstream(t, node, 0)
	c.write(&protocol.Frame{Type: protocol.FrameCaseIntake, Body: f.raw})
	want := c.await(protocol.FrameEvidenceWant)
	if want.Offset != 0 {
		t.Fatalf("first want from %d", want.Offset)
	}
	// Two chunks, then the session is cut.
	for off := 0; off < 2*protocol.MaxChunkBytes; off += protocol.MaxChunkBytes {
		c.write(&protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: want.Hash, Offset: int64(off), Body: data[off : off+protocol.MaxChunkBytes]})
	}
	// A chunk out of step is answered with a want from what the county
	// holds: once it comes, both chunks are on disk.
	c.write(&protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: want.Hash, Offset: 0, Body: data[:protocol.MaxChunkBytes]})
	if w := c.await(protocol.FrameEvidenceWant); w.Offset != 2*protocol.MaxChunkBytes {
		t.Fatalf("want from %d after two chunks", w.Offset)
	}
	c.conn.Close()

	c2, _ := h.upstream(t, node, 0)
	c2.write(&protocol.Frame{Type: protocol.FrameCaseIntake, Body: f.raw})
	want2 := c2.await(protocol.FrameEvidenceWant)
	if want2.Hash != want.Hash || want2.Offset != 2*protocol.MaxChunkBytes {
		t.Fatalf("resumed want from %d, want %d", want2.Offset, 2*protocol.MaxChunkBytes)
	}
	for off := int(want2.Offset); off < len(data); off += protocol.MaxChunkBytes {
		c2.write(&protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: want.Hash, Offset: int64(off), Body: data[off : off+protocol.MaxChunkBytes]})
	}
	if ans := c2.await(protocol.FrameCaseAccepted, protocol.FrameCaseRefused); ans.Type != protocol.FrameCaseAccepted {
		t.Fatalf("%s %s %s", ans.Type, ans.Code, ans.Message)
	}
	if got, err := h.srv.Store().EvidenceContent(want.Hash); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the file: %v", err)
	}
}
