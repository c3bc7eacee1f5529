package county_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Bad input against the real server: each case sends one kind of wrong
// message over a real TLS websocket and checks the stable code the server
// answers with, that the county replica did not change, and that the
// incident was recorded for the county admin (for every refusal but a
// replay, which is harmless, and a pending enrolment, which is a device
// polling as it should).
//
// The raw client below speaks the protocol frame by frame, so it can send
// what the engine never would. It never sleeps: it reads until the frame it
// expects arrives, with a read deadline only as a safety net.

// frameWait is the safety net for a frame that never comes.
const frameWait = 10 * time.Second

// rawDevice is an ed25519 key enrolled (or not) through the real /enrol
// endpoint, that builds its change sets by hand.
type rawDevice struct {
	t      *testing.T
	priv   ed25519.PrivateKey
	pub    ed25519.PublicKey
	id     protocol.DeviceID
	office office.Code

	// its chain as the county has accepted it
	seq    uint64
	head   protocol.Hash
	lastOp uint64
	clock  int64 // Unix milliseconds of the next op's stamp
}

func newRawDevice(t *testing.T, o office.Code) *rawDevice {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &rawDevice{t: t, priv: priv, pub: pub, id: protocol.DeviceIDFromKey(pub), office: o,
		clock: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixMilli()}
}

// httpClient returns a client that trusts only the harness server.
func (h *harness) pinnedClient(t *testing.T) *http.Client {
	tr := &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(h.base.Fingerprint)}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: frameWait}
}

// requestEnrolment posts the device's signed enrolment request to /enrol;
// the county leaves it pending.
func (h *harness) rawRequestEnrolment(t *testing.T, d *rawDevice) {
	t.Helper()
	req := protocol.EnrolRequest{Key: d.pub, Office: d.office, DeviceName: "原始终端", Staff: "测试员", Time: time.Now().UnixMilli()}
	resp, err := h.pinnedClient(t).Post(h.base.BaseURL+"/enrol", "application/octet-stream", bytes.NewReader(req.Sign(d.priv)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st countyapi.EnrolStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || st.Status != countyapi.EnrolPending {
		t.Fatalf("enrolment request: %s %+v", resp.Status, st)
	}
}

// rawEnrolled makes a device and enrols it the way an admin does.
func (h *harness) rawEnrolled(t *testing.T, o office.Code) *rawDevice {
	t.Helper()
	d := newRawDevice(t, o)
	h.rawRequestEnrolment(t, d)
	if _, err := h.srv.Approve(d.id, countyapi.ApproveRequest{}, "admin"); err != nil {
		t.Fatal(err)
	}
	return d
}

// createOp creates a draft commitment of office o.
func rawCreateOp(t *testing.T, o office.Code) protocol.Op {
	t.Helper()
	values := map[domain.Field]string{
		domain.FieldCategory:    string(domain.CatConvenience),
		domain.FieldTitle:       "便民服务窗口午间值守",
		domain.FieldText:        "工作日中午12:00至14:00安排专人值守。",
		domain.FieldLegalBasis:  "《洛阳市加强政务诚信建设实施方案》五(七)",
		domain.FieldResponsible: "王建国",
		domain.FieldStartDate:   "2026-11-02",
		domain.FieldDeadline:    "workdays:10",
		domain.FieldPublic:      "true",
		domain.FieldStatus:      string(domain.StatusDraft),
	}
	op := protocol.Op{Kind: protocol.OpCreate, Office: o, Target: protocol.NewEntityID()}
	for _, f := range domain.Fields() {
		v, ok := values[f]
		if !ok {
			t.Fatalf("createOp lacks a value for field %s", f)
		}
		op.Writes = append(op.Writes, protocol.FieldWrite{Field: f, Value: v})
	}
	return op
}

// evidenceOp records an evidence file of office o.
func rawEvidenceOp(o office.Code, target protocol.EntityID, content []byte) protocol.Op {
	return protocol.Op{Kind: protocol.OpEvidence, Office: o, Target: target,
		Meta: &protocol.EvidenceMeta{Hash: protocol.HashOf(content), Name: "值守照片.jpg", MIME: "image/jpeg", Size: int64(len(content))}}
}

// build seals a change set with the given sequence, previous hash and
// first operation number; edit, if not nil, changes it before sealing.
func (d *rawDevice) build(seq uint64, prev protocol.Hash, firstOp uint64, edit func(*protocol.ChangeSet), ops ...protocol.Op) *protocol.ChangeSet {
	d.t.Helper()
	for i := range ops {
		ops[i].Num = firstOp + uint64(i)
		ops[i].HLC = protocol.MakeHLC(d.clock, 0)
		d.clock += 1000
	}
	cs := &protocol.ChangeSet{Device: d.id, Office: d.office, Author: "李明", AuthorRole: domain.RoleLeader,
		Seq: seq, Prev: prev, Ops: ops}
	if edit != nil {
		edit(cs)
	}
	if err := cs.Seal(d.priv); err != nil {
		d.t.Fatal(err)
	}
	return cs
}

// next seals the change set that continues the device's chain.
func (d *rawDevice) next(ops ...protocol.Op) *protocol.ChangeSet {
	d.t.Helper()
	return d.build(d.seq+1, d.head, d.lastOp+1, nil, ops...)
}

// accepted advances the device's chain past cs.
func (d *rawDevice) accepted(cs *protocol.ChangeSet) {
	d.seq, d.head, d.lastOp = cs.Seq, cs.Hash(), cs.LastOp()
}

// rawConn is a websocket session spoken frame by frame.
type rawConn struct {
	t         *testing.T
	c         *websocket.Conn
	challenge *protocol.Frame
	fp        string
}

// dial connects with the pinned certificate and reads the challenge.
func (h *harness) dialRaw(t *testing.T) *rawConn {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: protocol.PinnedTLSConfig(h.base.Fingerprint), HandshakeTimeout: frameWait, EnableCompression: true}
	c, _, err := d.Dial(h.base.SyncURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, c: c, fp: h.base.Fingerprint}
	rc.challenge = rc.await(protocol.FrameChallenge)
	if rc.challenge.Version != protocol.ProtocolVersion || rc.challenge.County != countyCode || !bytes.Equal(rc.challenge.CountyKey, h.key) {
		t.Fatalf("challenge: %+v", rc.challenge)
	}
	return rc
}

// connect dials and authenticates as d, returning the welcome.
func (h *harness) connectRaw(t *testing.T, d *rawDevice) (*rawConn, *protocol.Frame) {
	t.Helper()
	rc := h.dialRaw(t)
	rc.hello(d, protocol.ProtocolVersion, rc.sign(d))
	return rc, rc.await(protocol.FrameWelcome)
}

func (rc *rawConn) sign(d *rawDevice) []byte {
	return protocol.SignChallenge(d.priv, rc.challenge.Nonce, rc.fp)
}

func (rc *rawConn) hello(d *rawDevice, version uint8, sig []byte) {
	rc.t.Helper()
	rc.send(&protocol.Frame{Type: protocol.FrameHello, Version: version, Device: d.id, Sig: sig})
}

func (rc *rawConn) send(f *protocol.Frame) {
	rc.t.Helper()
	rc.sendRaw(websocket.BinaryMessage, protocol.AppendFrame(nil, f))
}

func (rc *rawConn) sendRaw(typ int, data []byte) {
	rc.t.Helper()
	rc.c.SetWriteDeadline(time.Now().Add(frameWait))
	if err := rc.c.WriteMessage(typ, data); err != nil {
		rc.t.Fatalf("writing: %v", err)
	}
}

func (rc *rawConn) push(cs *protocol.ChangeSet) {
	rc.t.Helper()
	rc.send(&protocol.Frame{Type: protocol.FramePush, Body: cs.Bytes()})
}

// await reads frames until one of the given types arrives, skipping the
// rest (feed deliveries, caught-up notices). An error frame not asked for
// fails the test.
func (rc *rawConn) await(types ...protocol.FrameType) *protocol.Frame {
	rc.t.Helper()
	for {
		rc.c.SetReadDeadline(time.Now().Add(frameWait))
		typ, data, err := rc.c.ReadMessage()
		if err != nil {
			rc.t.Fatalf("waiting for %v: %v", types, err)
		}
		if typ != websocket.BinaryMessage {
			rc.t.Fatalf("waiting for %v: text message %q", types, data)
		}
		f, err := protocol.DecodeFrame(data)
		if err != nil {
			rc.t.Fatalf("waiting for %v: %v", types, err)
		}
		if slices.Contains(types, f.Type) {
			return f
		}
		if f.Type == protocol.FrameError {
			rc.t.Fatalf("waiting for %v: error %s: %s", types, f.Code, f.Message)
		}
	}
}

// closed reads until the connection ends and returns why.
func (rc *rawConn) closed() error {
	rc.t.Helper()
	for {
		rc.c.SetReadDeadline(time.Now().Add(frameWait))
		_, _, err := rc.c.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				rc.t.Fatalf("the server did not close the connection: %v", err)
			}
			return err
		}
	}
}

// wantError reads until the server's fatal error frame, checks its code,
// and that the server then closes the connection.
func (rc *rawConn) wantError(code protocol.Code) *protocol.Frame {
	rc.t.Helper()
	f := rc.await(protocol.FrameError)
	if f.Code != code {
		rc.t.Fatalf("error frame %s (%s), want %s", f.Code, f.Message, code)
	}
	rc.closed()
	return f
}

// wantRefused reads until the server refuses a pushed change set or
// evidence file and checks the code.
func (rc *rawConn) wantRefused(code protocol.Code) *protocol.Frame {
	rc.t.Helper()
	f := rc.await(protocol.FrameRefused, protocol.FrameReceipt)
	if f.Type != protocol.FrameRefused {
		rc.t.Fatalf("got a receipt, want refused %s", code)
	}
	if f.Code != code {
		rc.t.Fatalf("refused with %s (%s), want %s", f.Code, f.Message, code)
	}
	return f
}

// wantReceipt reads until the receipt for cs and checks it verifies.
func (rc *rawConn) wantReceipt(h *harness, cs *protocol.ChangeSet) []byte {
	rc.t.Helper()
	f := rc.await(protocol.FrameReceipt, protocol.FrameRefused)
	if f.Type != protocol.FrameReceipt {
		rc.t.Fatalf("change set %d refused: %s: %s", cs.Seq, f.Code, f.Message)
	}
	r, err := protocol.OpenReceipt(f.Body, h.key)
	if err != nil {
		rc.t.Fatal(err)
	}
	if r.County != countyCode || r.Device != cs.Device || r.Seq != cs.Seq || r.Hash != cs.Hash() || r.Pos == 0 {
		rc.t.Fatalf("receipt %+v for change set %s/%d", r, cs.Device.Short(), cs.Seq)
	}
	return f.Body
}

// accept pushes cs, waits for its receipt and advances d's chain.
func (rc *rawConn) accept(h *harness, d *rawDevice, cs *protocol.ChangeSet) []byte {
	rc.t.Helper()
	rc.push(cs)
	body := rc.wantReceipt(h, cs)
	d.accepted(cs)
	return body
}

// replicaState is what must not change when input is refused.
type replicaState struct {
	digest protocol.Hash
	feed   uint64
}

func (h *harness) replicaSnapshot(t *testing.T) replicaState {
	t.Helper()
	d, err := h.srv.Store().Digest()
	if err != nil {
		t.Fatal(err)
	}
	f, err := h.srv.Store().FeedHead()
	if err != nil {
		t.Fatal(err)
	}
	return replicaState{digest: d, feed: f}
}

func (h *harness) wantUnchanged(t *testing.T, before replicaState) {
	t.Helper()
	if after := h.replicaSnapshot(t); after != before {
		t.Fatalf("the county replica changed: feed head %d → %d, digest %s → %s",
			before.feed, after.feed, before.digest.String()[:12], after.digest.String()[:12])
	}
}

func (h *harness) incidentList(t *testing.T) []countyapi.Incident {
	t.Helper()
	in, err := h.srv.Incidents()
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// wantIncident checks an incident with the code was recorded for dev.
func (h *harness) wantIncidentFor(t *testing.T, dev protocol.DeviceID, code protocol.Code) countyapi.Incident {
	t.Helper()
	in := h.incidentList(t)
	for _, i := range in {
		if i.Code == code && i.Device == dev {
			if i.Message == "" || i.Remote == "" || i.Time.IsZero() {
				t.Fatalf("incident without message, remote address or time: %+v", i)
			}
			return i
		}
	}
	t.Fatalf("no %s incident for %s among %d: %+v", code, dev.Short(), len(in), in)
	return countyapi.Incident{}
}

func (h *harness) wantNoIncident(t *testing.T) {
	t.Helper()
	if in := h.incidentList(t); len(in) != 0 {
		t.Fatalf("unexpected incidents: %+v", in)
	}
}

// TestBadInput: every kind of bad input a device can send is refused with
// its stable code, stores nothing, and is recorded for the county admin.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"unknown device", func(t *testing.T, h *harness) {
			d := newRawDevice(t, townA) // never asked to be enrolled
			before := h.replicaSnapshot(t)
			rc := h.dialRaw(t)
			rc.hello(d, protocol.ProtocolVersion, rc.sign(d))
			rc.wantError(protocol.CodeUnknownDevice)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeUnknownDevice)
		}},
		{"pending device", func(t *testing.T, h *harness) {
			d := newRawDevice(t, townA)
			h.rawRequestEnrolment(t, d)
			before := h.replicaSnapshot(t)
			rc := h.dialRaw(t)
			rc.hello(d, protocol.ProtocolVersion, rc.sign(d))
			f := rc.wantError(protocol.CodeNotEnrolled)
			if !strings.Contains(f.Message, string(countyapi.EnrolPending)) {
				t.Fatalf("message %q does not say the enrolment is pending", f.Message)
			}
			h.wantUnchanged(t, before)
			h.wantNoIncident(t) // a device polling for its approval
		}},
		{"revoked device", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			const reason = "终端遗失，已停用"
			if err := h.srv.Revoke(d.id, reason, "admin"); err != nil {
				t.Fatal(err)
			}
			before := h.replicaSnapshot(t)
			rc := h.dialRaw(t)
			rc.hello(d, protocol.ProtocolVersion, rc.sign(d))
			if f := rc.wantError(protocol.CodeRevokedDevice); f.Message != reason {
				t.Fatalf("revoked device told %q, want the county's reason %q", f.Message, reason)
			}
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeRevokedDevice)
		}},
		{"revoked while connected", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			rc.await(protocol.FrameCaughtUp) // the session is registered
			cs := d.next(rawCreateOp(t, townA))
			const reason = "人员调离"
			if err := h.srv.Revoke(d.id, reason, "admin"); err != nil {
				t.Fatal(err)
			}
			before := h.replicaSnapshot(t)
			// Its next message. The server may already have told it and
			// closed, so a failed write is no failure.
			rc.c.SetWriteDeadline(time.Now().Add(frameWait))
			rc.c.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, &protocol.Frame{Type: protocol.FramePush, Body: cs.Bytes()}))
			if f := rc.wantError(protocol.CodeRevokedDevice); f.Message != reason {
				t.Fatalf("revoked device told %q, want the county's reason %q", f.Message, reason)
			}
			h.wantUnchanged(t, before)
		}},
		{"forged change set signature", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			raw := bytes.Clone(d.next(rawCreateOp(t, townA)).Bytes())
			raw[len(raw)-1] ^= 0x01
			before := h.replicaSnapshot(t)
			rc.send(&protocol.Frame{Type: protocol.FramePush, Body: raw})
			if f := rc.wantRefused(protocol.CodeBadSignature); f.Device != d.id || f.Seq != 1 {
				t.Fatalf("refusal names %s/%d", f.Device.Short(), f.Seq)
			}
			h.wantUnchanged(t, before)
			if in := h.wantIncidentFor(t, d.id, protocol.CodeBadSignature); in.Seq != 1 {
				t.Fatalf("incident for seq %d", in.Seq)
			}
		}},
		{"forged challenge signature", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			before := h.replicaSnapshot(t)
			rc := h.dialRaw(t)
			sig := rc.sign(d)
			sig[0] ^= 0x80
			rc.hello(d, protocol.ProtocolVersion, sig)
			rc.wantError(protocol.CodeBadSignature)
			// A signature for another server's certificate does not
			// open this one either.
			rc = h.dialRaw(t)
			rc.hello(d, protocol.ProtocolVersion, protocol.SignChallenge(d.priv, rc.challenge.Nonce, "AA:BB"))
			rc.wantError(protocol.CodeBadSignature)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeBadSignature)
		}},
		{"replayed change set", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			cs := d.next(rawCreateOp(t, townA))
			first := rc.accept(h, d, cs)
			before := h.replicaSnapshot(t)
			rc.push(cs)
			if again := rc.wantReceipt(h, cs); !bytes.Equal(again, first) {
				t.Fatal("the replay's receipt differs from the original")
			}
			// And in a new session, as after a cut before the receipt.
			rc.c.Close()
			rc, w := h.connectRaw(t, d)
			if w.Head.Seq != 1 || w.Head.Hash != cs.Hash() || w.Pos != before.feed {
				t.Fatalf("welcome after reconnect: %+v", w)
			}
			rc.push(cs)
			if again := rc.wantReceipt(h, cs); !bytes.Equal(again, first) {
				t.Fatal("the replay's receipt differs from the original")
			}
			h.wantUnchanged(t, before)
			h.wantNoIncident(t)
		}},
		{"sequence gap", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			rc.accept(h, d, d.next(rawCreateOp(t, townA)))
			before := h.replicaSnapshot(t)
			rc.push(d.build(3, d.head, d.lastOp+1, nil, rawCreateOp(t, townA)))
			rc.wantRefused(protocol.CodeSequenceGap)
			// Operation numbers must be gapless too.
			rc.push(d.build(2, d.head, d.lastOp+2, nil, rawCreateOp(t, townA)))
			rc.wantRefused(protocol.CodeSequenceGap)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeSequenceGap)
		}},
		{"fork", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			rc.accept(h, d, d.next(rawCreateOp(t, townA)))
			before := h.replicaSnapshot(t)
			// The same sequence number with other content: a device
			// restored from a backup taken before change set 1.
			rc.push(d.build(1, protocol.Hash{}, 1, nil, rawCreateOp(t, townA)))
			rc.wantRefused(protocol.CodeFork)
			h.wantUnchanged(t, before)
			if in := h.wantIncidentFor(t, d.id, protocol.CodeFork); in.Seq != 1 {
				t.Fatalf("fork incident for seq %d", in.Seq)
			}
		}},
		{"broken chain", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			rc.accept(h, d, d.next(rawCreateOp(t, townA)))
			before := h.replicaSnapshot(t)
			wrong := d.head
			wrong[0] ^= 0xff
			rc.push(d.build(2, wrong, d.lastOp+1, nil, rawCreateOp(t, townA)))
			rc.wantRefused(protocol.CodeBrokenChain)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeBrokenChain)
		}},
		{"another office's record", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			before := h.replicaSnapshot(t)
			// An operation on a record of township B.
			rc.push(d.next(rawCreateOp(t, townB)))
			rc.wantRefused(protocol.CodeOutOfScope)
			// A change set claiming to come from township B.
			rc.push(d.build(1, protocol.Hash{}, 1, func(cs *protocol.ChangeSet) { cs.Office = townB }, rawCreateOp(t, townB)))
			rc.wantRefused(protocol.CodeOutOfScope)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeOutOfScope)
		}},
		{"another device's change set", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			other := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			before := h.replicaSnapshot(t)
			rc.push(other.next(rawCreateOp(t, townA)))
			if f := rc.wantRefused(protocol.CodeWrongDevice); f.Device != other.id {
				t.Fatalf("refusal names %s, want the other device %s", f.Device.Short(), other.id.Short())
			}
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeWrongDevice)
			// The session goes on: its own change set is accepted.
			rc.accept(h, d, d.next(rawCreateOp(t, townA)))
		}},
		{"oversized frame", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			before := h.replicaSnapshot(t)
			big := make([]byte, protocol.MaxFrameBytes+1)
			rand.Read(big[1:])
			big[0] = byte(protocol.FramePush)
			rc.c.EnableWriteCompression(false)
			rc.sendRaw(websocket.BinaryMessage, big)
			wantCloseCode(t, rc.closed(), websocket.CloseMessageTooBig)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeOversize)
		}},
		{"oversized frame deflated", func(t *testing.T, h *harness) {
			// A few kilobytes on the wire that inflate past the limit:
			// the limit holds after decompression.
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			before := h.replicaSnapshot(t)
			big := make([]byte, protocol.MaxFrameBytes+64<<10)
			big[0] = byte(protocol.FramePush)
			rc.c.EnableWriteCompression(true)
			rc.sendRaw(websocket.BinaryMessage, big)
			wantCloseCode(t, rc.closed(), websocket.CloseMessageTooBig)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeOversize)
		}},
		{"oversized hello", func(t *testing.T, h *harness) {
			before := h.replicaSnapshot(t)
			rc := h.dialRaw(t)
			rc.c.EnableWriteCompression(false)
			rc.sendRaw(websocket.BinaryMessage, make([]byte, protocol.MaxFrameBytes+1))
			wantCloseCode(t, rc.closed(), websocket.CloseMessageTooBig)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, protocol.DeviceID{}, protocol.CodeOversize)
		}},
		{"malformed frame", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			before := h.replicaSnapshot(t)
			for _, garbage := range [][]byte{
				{0xff, 0x00, 0x13},                    // unknown frame type
				{byte(protocol.FrameAck), 0x80},       // truncated varint
				{byte(protocol.FrameAck), 0x01, 0x00}, // trailing byte
				{},                                    // empty
			} {
				rc, _ := h.connectRaw(t, d)
				rc.sendRaw(websocket.BinaryMessage, garbage)
				rc.wantError(protocol.CodeMalformed)
			}
			// A well-formed frame a device must not send.
			rc, _ := h.connectRaw(t, d)
			rc.send(&protocol.Frame{Type: protocol.FrameWelcome})
			rc.wantError(protocol.CodeMalformed)
			// A push whose change set does not decode: refused, the
			// session goes on.
			rc, _ = h.connectRaw(t, d)
			body := append(append([]byte("JNCS\x01"), d.id[:]...), "and then nothing a change set holds"...)
			rc.send(&protocol.Frame{Type: protocol.FramePush, Body: body})
			rc.wantRefused(protocol.CodeMalformed)
			// Garbage instead of a hello.
			rc = h.dialRaw(t)
			rc.sendRaw(websocket.BinaryMessage, []byte("hello?"))
			rc.wantError(protocol.CodeMalformed)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeMalformed)
		}},
		{"text message", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			before := h.replicaSnapshot(t)
			// A valid frame, but as text.
			rc, _ := h.connectRaw(t, d)
			rc.sendRaw(websocket.TextMessage, protocol.AppendFrame(nil, &protocol.Frame{Type: protocol.FrameAck, Pos: 1}))
			rc.wantError(protocol.CodeMalformed)
			// A hello as text.
			rc = h.dialRaw(t)
			rc.sendRaw(websocket.TextMessage, protocol.AppendFrame(nil,
				&protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: d.id, Sig: rc.sign(d)}))
			rc.wantError(protocol.CodeMalformed)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeMalformed)
		}},
		{"wrong protocol version", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			before := h.replicaSnapshot(t)
			rc := h.dialRaw(t)
			rc.hello(d, protocol.ProtocolVersion+1, rc.sign(d))
			rc.wantError(protocol.CodeUnknownVersion)
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeUnknownVersion)
		}},
		{"evidence that does not match its hash", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			content := bytes.Repeat([]byte("现场照片"), 10_000) // 120 KB: two chunks
			create := rawCreateOp(t, townA)
			rc.accept(h, d, d.next(create, rawEvidenceOp(townA, create.Target, content)))
			hash := protocol.HashOf(content)
			before := h.replicaSnapshot(t)
			forged := bytes.Clone(content)
			forged[len(forged)-1] ^= 0x01
			rawUpload(t, rc, hash, forged)
			if f := rc.wantRefused(protocol.CodeEvidenceMismatch); f.Hash != hash {
				t.Fatalf("refusal names evidence %s", f.Hash)
			}
			if ok, err := h.srv.Store().HasEvidence(hash); ok || err != nil {
				t.Fatalf("forged evidence stored: %v %v", ok, err)
			}
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeEvidenceMismatch)
			// Nothing of the forgery lingers: the real file uploads
			// from the start and is stored.
			rawUpload(t, rc, hash, content)
			rc.await(protocol.FrameEvidenceStored)
			if got, err := h.srv.Store().EvidenceContent(hash); err != nil || !bytes.Equal(got, content) {
				t.Fatalf("real evidence not stored: %v", err)
			}
		}},
		{"evidence no record cites", func(t *testing.T, h *harness) {
			d := h.rawEnrolled(t, townA)
			rc, _ := h.connectRaw(t, d)
			content := []byte("无人引用的文件")
			before := h.replicaSnapshot(t)
			rc.send(&protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: protocol.HashOf(content), Size: int64(len(content))})
			rc.wantRefused(protocol.CodeOutOfScope)
			rc.send(&protocol.Frame{Type: protocol.FrameEvidenceGet, Hash: protocol.HashOf(content)})
			rc.wantRefused(protocol.CodeOutOfScope)
			if ok, _ := h.srv.Store().HasEvidence(protocol.HashOf(content)); ok {
				t.Fatal("uncited evidence stored")
			}
			h.wantUnchanged(t, before)
			h.wantIncidentFor(t, d.id, protocol.CodeOutOfScope)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newHarness(t))
		})
	}
}

// upload offers an evidence file as size len(data) and sends data in
// chunks from where the server asks.
func rawUpload(t *testing.T, rc *rawConn, hash protocol.Hash, data []byte) {
	t.Helper()
	rc.send(&protocol.Frame{Type: protocol.FrameEvidenceOffer, Hash: hash, Size: int64(len(data))})
	want := rc.await(protocol.FrameEvidenceWant)
	if want.Hash != hash || want.Offset != 0 {
		t.Fatalf("server wants %s from %d", want.Hash, want.Offset)
	}
	for off := 0; off < len(data); off += protocol.MaxChunkBytes {
		end := min(off+protocol.MaxChunkBytes, len(data))
		rc.send(&protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: hash, Offset: int64(off), Body: data[off:end]})
	}
}

// wantClose checks err is a websocket close with the code.
func wantCloseCode(t *testing.T, err error, code int) {
	t.Helper()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("connection ended with %v, want close code %d", err, code)
	}
}

// TestRevokeReasonLimit: a revocation reason must fit the signed
// revocation document, or devices could not read it.
func TestRevokeReasonLimit(t *testing.T) {
	h := newHarness(t)
	d := h.rawEnrolled(t, townA)
	long := strings.Repeat("因", domain.MaxShortBytes/3+1)
	if err := h.srv.Revoke(d.id, long, "admin"); protocol.CodeOf(err) != protocol.CodeInvalidOperation {
		t.Fatalf("Revoke with a %d-byte reason: %v", len(long), err)
	}
	if err := h.srv.Revoke(d.id, strings.Repeat("因", domain.MaxShortBytes/3), "admin"); err != nil {
		t.Fatal(err)
	}
	rc := h.dialRaw(t)
	rc.hello(d, protocol.ProtocolVersion, rc.sign(d))
	if f := rc.wantError(protocol.CodeRevokedDevice); len(f.Message) != domain.MaxShortBytes/3*3 {
		t.Fatalf("reason of %d bytes arrived as %d", domain.MaxShortBytes/3*3, len(f.Message))
	}
}
