package municipal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// A pull is one upstream session with a county server: challenge, hello
// signed with the node's key, welcome, then the county's feed from this
// node's cursor. Everything is verified here before anything is stored:
//
//   - the challenge names the county and its key, which must be the trust
//     file's (the TLS pin only secures the channel);
//   - each certificate verifies with the county key and certifies an office
//     of that county; only then is the device registered;
//   - each change set comes with the county's receipt, which must verify
//     with the county key and name exactly that change set (hash, device,
//     sequence number, feed position);
//   - each change set then goes through store.ApplyPrepared, which checks the
//     device's signature, the sequence and hash chain and the scope (the
//     signature and operation rules on the pull's goroutine, ahead of the
//     writer, unless the device's record changes in between);
//   - each revocation verifies with the county key, as does the feed
//     position it took effect at, and is applied there.
//
// Change sets are applied in batches together with the county's cursor
// and their receipts. A refusal stops the pull with the cursor just before
// the refused change set (it is never skipped), records an incident naming
// the county, and leaves the county "tampered" until something changes.

// errStuck marks a pull that failed in a way pulling again at once cannot
// fix: tampering, a wrong county key, a feed behind the cursor.
var errStuck = errors.New("county needs attention")

// pendingEntry is a change set received and checked against its receipt,
// waiting to be applied with the next batch. It is prepared on the
// county's own pull goroutine (protocol.PrepareDecoded: its signature and
// operation rules checked against the device's record as read then), so
// the node's writer, which all counties' pulls share, only checks what
// needs the replica (protocol.VerifyPrepared, through
// store.ApplyPrepared) and applies.
type pendingEntry struct {
	pos     uint64
	prep    *protocol.Prepared
	receipt []byte
	dev     protocol.DeviceID
	seq     uint64
}

// verifiedRevocation is a revocation checked against the county key.
type verifiedRevocation struct {
	dev    protocol.DeviceID
	reason string
	rec    revocationRecord
}

type puller struct {
	n    *Node
	c    *county
	t    pullTarget
	conn *websocket.Conn
	pump *wsconn.Pump // the session's only writer once the handshake is done

	// The feed, touched by the reader only.
	welcome uint64 // the county's feed head when the pull began
	applied uint64 // the cursor as committed
	last    uint64 // the last feed position received
	pending []pendingEntry

	// What the session does besides the feed (link.go): the reader and
	// the sender share it under mu.
	mu        sync.Mutex
	atHead    bool                            // caught up with the county's head, nothing newer received since
	sent      map[protocol.EntityID]outIntake // intakes sent, not answered yet
	fetch     *store.Evidence                 // the evidence file being fetched
	fetchDone bool                            // nothing more to fetch since the last caught_up
	skip      map[protocol.Hash]bool          // evidence files not to ask for again this session
	// notYet are files the county did not hold yet when asked (not_found):
	// asked for again when the county says it holds one (evidence_stored)
	// or its feed moves on (caught_up).
	notYet    map[protocol.Hash]bool
	wake      chan struct{} // the sender has something to look at
	lingering bool          // the read deadline is the linger: the session ends when it passes
}

// pull runs one upstream session with a county until it has caught up (and
// lingered), failed, or ctx ends.
func (n *Node) pull(ctx context.Context, c *county, t pullTarget) error {
	n.update(c, func(c *county) { c.state = StatePulling })
	p := &puller{n: n, c: c, t: t, sent: map[protocol.EntityID]outIntake{}, skip: map[protocol.Hash]bool{}, notYet: map[protocol.Hash]bool{}, wake: make(chan struct{}, 1)}
	n.mu.Lock()
	c.session = p
	n.mu.Unlock()
	err := p.run(ctx)
	n.mu.Lock()
	c.session = nil
	n.mu.Unlock()
	if err == nil && n.hasPendingIntakes(t.code) {
		// Filed while the session was ending: the next one sends it.
		n.mu.Lock()
		c.force = true
		n.mu.Unlock()
	}
	n.update(c, func(c *county) {
		switch {
		case err == nil:
			c.state, c.lastOK, c.lastErr, c.problem = StateCaughtUp, n.cfg.Now().UTC(), "", nil
			if c.applied < c.head {
				c.state = StateWaiting
			}
		case errors.Is(err, errStuck):
			c.lastErr = err.Error() // the state was set with the incident
		default:
			c.state, c.lastErr = StateError, err.Error()
		}
	})
	return err
}

func (p *puller) run(ctx context.Context) error {
	cursor, err := p.n.Cursor(p.t.code)
	if err != nil {
		return err
	}
	p.applied, p.last = cursor, cursor
	conn, err := p.n.dial(ctx, p.t)
	if err != nil {
		return err
	}
	p.conn = conn
	p.pump = wsconn.NewPump(conn, wsconn.PumpConfig{WriteWait: p.n.cfg.WriteWait, ControlQueue: 16, StreamQueue: maxIntakesInFlight, BulkQueue: 4})
	var sender sync.WaitGroup
	defer func() {
		p.pump.Close()
		p.pump.Wait()
		sender.Wait()
		p.endFetch()
	}()
	stop := context.AfterFunc(ctx, p.pump.Close)
	defer stop()
	if err := p.handshake(); err != nil {
		return err
	}
	p.pump.Start()
	sender.Go(p.sender)
	p.wakeSender() // the intakes waiting for this county go first
	p.mu.Lock()
	p.rearm()
	p.mu.Unlock()
	for {
		f, err := p.read()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && p.applied >= p.welcome && p.idle() {
				// Lingered (or the county fell silent) after catching up,
				// with nothing left to send or fetch.
				conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "caught up"),
					time.Now().Add(time.Second))
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		switch f.Type {
		case protocol.FrameCertificate, protocol.FrameUpstreamEntry, protocol.FrameUpstreamRevocation:
			p.mu.Lock()
			p.atHead = false // more is coming: wait for it as long as it takes
			p.mu.Unlock()
		}
		switch f.Type {
		case protocol.FrameCertificate:
			err = p.certificate(f.Body)
		case protocol.FrameUpstreamEntry:
			err = p.entry(f)
		case protocol.FrameUpstreamRevocation:
			err = p.revocation(f)
		case protocol.FrameCaughtUp:
			err = p.caughtUp(f.Pos)
		case protocol.FrameCaseAccepted, protocol.FrameCaseRefused:
			err = p.intakeAnswer(f)
		case protocol.FrameEvidenceWant:
			p.evidenceWant(f)
		case protocol.FrameEvidenceStored:
			// An intake file the county took, or a file it was asked for
			// before it held it, which arrived since.
			p.evidenceStored(f.Hash)
		case protocol.FrameEvidenceChunk:
			err = p.evidenceChunk(f)
		case protocol.FrameRefused:
			p.evidenceRefused(f)
		default:
			err = p.refuse(Incident{Code: protocol.CodeMalformed, Message: fmt.Sprintf("unexpected %s frame on the upstream feed", f.Type)}, StateTampered)
		}
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.rearm()
		p.mu.Unlock()
	}
}

// rearm sets the read deadline for what the session waits for: the linger
// once it is at the county's head with nothing sent unanswered and nothing
// to fetch (then the session ends when it passes, at once with Linger 0),
// else PongWait, the most a county may stay silent. p.mu is held: the
// sender rearms too when it finds nothing more to do.
func (p *puller) rearm() {
	linger := p.atHead && p.idleLocked()
	if linger == p.lingering && linger {
		return // the linger runs from when it began
	}
	p.lingering = linger
	wait := p.n.cfg.PongWait
	if linger {
		wait = p.n.cfg.Linger
	}
	p.conn.SetReadDeadline(time.Now().Add(wait))
}

// dial connects to a county's upstream feed, pinning the certificate the
// county advertises.
func (n *Node) dial(ctx context.Context, t pullTarget) (*websocket.Conn, error) {
	u, err := url.Parse(t.upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream address %q: %w", t.upstream, err)
	}
	d := websocket.Dialer{
		HandshakeTimeout:  n.cfg.HandshakeTimeout,
		ReadBufferSize:    64 << 10,
		WriteBufferSize:   4 << 10,
		EnableCompression: true,
		NetDialContext:    n.cfg.NetDial,
	}
	switch u.Scheme {
	case "wss":
		d.TLSClientConfig = protocol.PinnedTLSConfig(t.fp)
	case "ws":
		ip := net.ParseIP(u.Hostname())
		if !n.cfg.AllowInsecure || ((ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost") {
			return nil, fmt.Errorf("county %s advertises plain %s: refused (only wss://, or ws:// on loopback with AllowInsecure)", t.code, t.upstream)
		}
	default:
		return nil, fmt.Errorf("upstream address %q: want wss://", t.upstream)
	}
	dctx, cancel := context.WithTimeout(ctx, n.cfg.HandshakeTimeout)
	defer cancel()
	conn, resp, err := d.DialContext(dctx, t.upstream, http.Header{"User-Agent": {"jiannuo-municipal/1"}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("connecting to county %s at %s: %s: %w", t.code, t.upstream, resp.Status, err)
		}
		return nil, fmt.Errorf("connecting to county %s at %s: %w", t.code, t.upstream, err)
	}
	conn.EnableWriteCompression(false) // only acks go up
	return conn, nil
}

// read reads one frame, bounding it after decompression; an error frame
// from the county becomes an error with its code.
func (p *puller) read() (*protocol.Frame, error) {
	typ, data, err := wsconn.ReadMessage(p.conn)
	if errors.Is(err, websocket.ErrReadLimit) {
		return nil, fmt.Errorf("%w: frame over %d bytes from county %s", protocol.ErrOversize, protocol.MaxFrameBytes, p.t.code)
	}
	if err != nil {
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, fmt.Errorf("%w: text message from county %s", protocol.ErrMalformed, p.t.code)
	}
	f, err := protocol.DecodeFrame(data)
	if err != nil {
		return nil, fmt.Errorf("from county %s: %w", p.t.code, err)
	}
	if f.Type == protocol.FrameError {
		return nil, fmt.Errorf("county %s refused: %w: %s", p.t.code, protocol.ErrorFor(f.Code), f.Message)
	}
	return f, nil
}

func (p *puller) handshake() error {
	p.conn.SetReadDeadline(time.Now().Add(p.n.cfg.HandshakeTimeout))
	ch, err := p.read()
	if err != nil {
		return err
	}
	if ch.Type != protocol.FrameChallenge {
		return fmt.Errorf("%w: expected challenge, got %s", protocol.ErrMalformed, ch.Type)
	}
	if ch.County != p.t.code || !bytes.Equal(ch.CountyKey, p.t.key) {
		return p.refuse(Incident{Code: protocol.CodeWrongServer, Message: fmt.Sprintf(
			"the server advertised as county %s answers as county %s with key %x; the trust file has %x", p.t.code, ch.County, []byte(ch.CountyKey), []byte(p.t.key))},
			StateWrongKey)
	}
	known, err := p.n.Epoch(p.t.code)
	if err != nil {
		return err
	}
	hello := &protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: p.n.id.ID, Cursor: p.applied,
		Sig: protocol.SignChallenge(p.n.id.Key, ch.Nonce, p.t.fp)}
	p.n.mu.Lock()
	plain := p.c.plain
	p.n.mu.Unlock()
	if !plain {
		hello.Epoch = &known
	}
	if err := p.pump.Write(hello); err != nil {
		return err
	}
	w, err := p.read()
	if err != nil {
		if hello.Epoch != nil && errors.Is(err, protocol.ErrMalformed) {
			// A county server older than epochs refuses the hello's
			// trailing fields: say hello as before from now on.
			p.n.log.Warn("the county refused the hello with the feed epoch: it is older than this node; saying hello without it", "county", string(p.t.code), "err", err)
			p.n.update(p.c, func(c *county) { c.plain = true })
		}
		return err
	}
	if w.Type != protocol.FrameWelcome {
		return fmt.Errorf("%w: expected welcome, got %s", protocol.ErrMalformed, w.Type)
	}
	if err := p.epoch(known, w.Epoch); err != nil {
		return err
	}
	if w.Pos < p.applied {
		return p.refuse(Incident{Code: CodeFeedBehind, Message: fmt.Sprintf(
			"the county's feed ends at %d, this node applied up to %d from it: restored from an old backup or replaced?", w.Pos, p.applied)},
			StateBehind)
	}
	p.welcome = w.Pos
	p.n.update(p.c, func(c *county) { c.head = w.Pos })
	return nil
}

// epoch acts on the county's feed epoch in the welcome. A county restored
// from a backup since the node's cursor was set serves another epoch: its
// feed positions name other change sets now, and the county streams its
// feed from the start. The node starts its cursor for the county again
// with it, in one transaction with the new epoch; what it holds already
// comes again as replays and changes nothing, and what the county lost
// stays here until the devices bring it back to the county.
func (p *puller) epoch(known protocol.Epoch, got *protocol.Epoch) error {
	if got == nil || *got == known {
		return nil
	}
	code := p.t.code
	restored := !known.IsZero()
	err := p.n.st.Update(func(tx *bolt.Tx) error {
		if restored {
			if err := putCursor(tx, code, 0); err != nil {
				return err
			}
		}
		return tx.Bucket(bEpochs).Put(cursorKey(code), got[:])
	})
	if err != nil {
		return err
	}
	if restored {
		p.n.log.Warn("the county's feed is of another epoch: it was restored from a backup; pulling its feed again from the start",
			"county", string(code), "cursor", p.applied, "epoch", got.String(), "before", known.String())
		p.applied, p.last = 0, 0
		p.n.update(p.c, func(c *county) { c.applied, c.restored = 0, c.restored+1 })
	}
	return nil
}

// refuse records an incident naming the county (once for the same
// problem), marks the county and ends the pull.
func (p *puller) refuse(in Incident, state string) error {
	n := p.n
	in.Time, in.County, in.Server = n.cfg.Now().UTC(), p.t.code, p.t.upstream
	n.mu.Lock()
	same := p.c.problem != nil && p.c.problem.Code == in.Code && p.c.problem.Device == in.Device &&
		p.c.problem.Seq == in.Seq && p.c.problem.Pos == in.Pos
	n.mu.Unlock()
	if !same {
		n.log.Error("county sent something that does not verify: refused", "county", string(in.County), "code", string(in.Code),
			"device", in.Device, "seq", in.Seq, "pos", in.Pos, "message", in.Message)
		if err := n.st.Update(func(tx *bolt.Tx) error { return putIncident(tx, in) }); err != nil {
			return err
		}
	}
	n.update(p.c, func(c *county) { c.state, c.problem = state, &in })
	return fmt.Errorf("%w: county %s: %s: %s", errStuck, in.County, in.Code, in.Message)
}

// refuseAfter flushes what was received before a refused item, so the
// cursor ends just before it, then refuses.
func (p *puller) refuseAfter(in Incident, state string) error {
	if err := p.flush(nil); err != nil {
		return err
	}
	return p.refuse(in, state)
}

func (p *puller) certificate(body []byte) error {
	code, key := p.t.code, p.t.key
	cert, err := protocol.OpenCertificate(body, key)
	if err == nil && cert.County != code {
		err = fmt.Errorf("%w: certificate of county %s", protocol.ErrOutOfScope, cert.County)
	}
	if err != nil {
		return p.refuseAfter(Incident{Code: protocol.CodeOf(err), Message: "certificate: " + err.Error()}, StateTampered)
	}
	err = p.n.st.Update(func(tx *bolt.Tx) error {
		rec := store.DeviceRecord{ID: cert.Device, Key: cert.Key, Office: cert.Office, Name: cert.Name, Admin: cert.Admin}
		old, err := store.DeviceRecordTx(tx, cert.Device)
		switch {
		case err == nil:
			if !code.Contains(old.Office) {
				return fmt.Errorf("%w: device %s is certified for %s by another county", protocol.ErrOutOfScope, cert.Device, old.Office)
			}
			rec.Revoked, rec.Reason = old.Revoked, old.Reason // a certificate never undoes a revocation
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := store.PutDeviceTx(tx, rec); err != nil {
			return err
		}
		return tx.Bucket(bCerts).Put(cert.Device[:], body)
	})
	if errors.Is(err, protocol.ErrOutOfScope) {
		return p.refuseAfter(Incident{Device: cert.Device, Code: protocol.CodeOutOfScope, Message: err.Error()}, StateTampered)
	}
	return err
}

func (p *puller) entry(f *protocol.Frame) error {
	code := p.t.code
	in := Incident{Pos: f.Pos}
	if f.Pos <= p.last {
		in.Code, in.Message = protocol.CodeMalformed, fmt.Sprintf("feed position %d after %d", f.Pos, p.last)
		return p.refuseAfter(in, StateTampered)
	}
	rc, rerr := protocol.OpenReceipt(f.Receipt, p.t.key)
	if rerr == nil {
		in.Device, in.Seq = rc.Device, rc.Seq
	}
	cs, err := protocol.Decode(f.Body)
	if err != nil {
		in.Code, in.Message = protocol.CodeOf(err), "change set: "+err.Error()
		return p.refuseAfter(in, StateTampered)
	}
	in.Device, in.Seq = cs.Device, cs.Seq
	switch {
	case rerr != nil:
		in.Code, in.Message = CodeReceiptMismatch, "the receipt does not verify with the county key: "+rerr.Error()
	case rc.County != code || rc.Device != cs.Device || rc.Seq != cs.Seq || rc.Pos != f.Pos:
		in.Code, in.Message = CodeReceiptMismatch, fmt.Sprintf("the receipt names %s %s/%d at %d, the change set is %s/%d at %d",
			rc.County, rc.Device.Short(), rc.Seq, rc.Pos, cs.Device.Short(), cs.Seq, f.Pos)
	case rc.Hash != cs.Hash():
		in.Code, in.Message = CodeReceiptMismatch, fmt.Sprintf("the county's receipt for %s/%d names content %s, the change set sent hashes to %s: its stored bytes were altered",
			cs.Device.Short(), cs.Seq, rc.Hash.String()[:12], cs.Hash().String()[:12])
	case !code.Contains(cs.TargetOffice()):
		in.Code, in.Message = protocol.CodeOutOfScope, fmt.Sprintf("change set writes for %s, outside county %s", cs.TargetOffice(), code)
	}
	if in.Code != "" {
		return p.refuseAfter(in, StateTampered)
	}
	prep := protocol.PrepareDecoded(cs, p.deviceHint(cs.Device))
	p.pending = append(p.pending, pendingEntry{pos: f.Pos, prep: prep, receipt: f.Receipt, dev: cs.Device, seq: cs.Seq})
	p.last = f.Pos
	if len(p.pending) >= p.n.cfg.ApplyBatch {
		return p.flush(nil)
	}
	return nil
}

// deviceHint is the device's record as the replica holds it now, for
// preparing its change sets ahead of the writer; nil (nothing checked
// ahead) if there is none or it cannot be read. The writer checks again
// whatever differs in the record it reads (a certificate or revocation
// applied since), so the hint changes no verdict.
func (p *puller) deviceHint(id protocol.DeviceID) *protocol.DeviceInfo {
	rec, err := p.n.st.DeviceRecord(id)
	if err != nil {
		return nil
	}
	info := rec.Info()
	return &info
}

func (p *puller) revocation(f *protocol.Frame) error {
	code, key := p.t.code, p.t.key
	rv, err := protocol.OpenRevocation(f.Body, key)
	if err == nil && rv.County != code {
		err = fmt.Errorf("%w: revocation of county %s", protocol.ErrOutOfScope, rv.County)
	}
	if err == nil && !protocol.VerifyRevocationAt(key, f.Body, f.Pos, f.Sig) {
		err = fmt.Errorf("%w: the position the revocation took effect at", protocol.ErrBadSignature)
	}
	if err == nil && f.Pos != p.last {
		err = fmt.Errorf("%w: revocation at %d arrived after position %d", protocol.ErrMalformed, f.Pos, p.last)
	}
	if err != nil {
		in := Incident{Pos: f.Pos, Code: protocol.CodeOf(err), Message: "revocation: " + err.Error()}
		if rv != nil {
			in.Device = rv.Device
		}
		return p.refuseAfter(in, StateTampered)
	}
	return p.flush(&verifiedRevocation{dev: rv.Device, reason: rv.Reason,
		rec: revocationRecord{County: code, Pos: f.Pos, Revocation: f.Body, Sig: f.Sig}})
}

func (p *puller) caughtUp(pos uint64) error {
	if pos != p.last {
		return p.refuseAfter(Incident{Pos: pos, Code: protocol.CodeMalformed,
			Message: fmt.Sprintf("caught up at %d, the last position received is %d", pos, p.last)}, StateTampered)
	}
	if err := p.flush(nil); err != nil {
		return err
	}
	n := p.n
	n.mu.Lock()
	if pos > p.c.head {
		p.c.head = pos
	}
	atHead := pos >= p.c.head
	if atHead {
		p.c.force = false // the announcements so far are satisfied
	}
	n.notify()
	n.mu.Unlock()
	p.mu.Lock()
	p.atHead = atHead
	if p.fetch == nil {
		p.fetchDone = false // what arrived may cite files not held yet
	}
	clear(p.notYet) // and the county may hold files it lacked before
	p.mu.Unlock()
	p.wakeSender()
	return nil
}

// flush applies the pending change sets (and a revocation that took
// effect after them) with the cursor and their receipts in one
// transaction, and acknowledges. If the store refuses one, the ones before
// it are committed and the pull is refused at it.
func (p *puller) flush(rev *verifiedRevocation) error {
	if len(p.pending) == 0 && rev == nil && p.last == p.applied {
		return nil
	}
	n, code := p.n, p.t.code
	cursor := p.last
	bad, res, err := n.commit(code, p.pending, rev, cursor)
	if err != nil {
		return err
	}
	if bad >= 0 {
		prefix := p.applied
		if bad > 0 {
			prefix = p.pending[bad-1].pos
			if _, _, err := n.commit(code, p.pending[:bad], nil, prefix); err != nil {
				return err
			}
		}
		e := p.pending[bad]
		p.pending = nil
		p.setApplied(prefix)
		return p.refuse(Incident{Device: e.dev, Seq: e.seq, Pos: e.pos, Code: res.Code, Message: "change set: " + protocol.MessageOf(res.Err)}, StateTampered)
	}
	p.pending = p.pending[:0]
	p.setApplied(cursor)
	if !p.pump.Send(wsconn.Control, &protocol.Frame{Type: protocol.FrameAck, Pos: cursor}) {
		return fmt.Errorf("county %s: the session ended", code)
	}
	return nil
}

func (p *puller) setApplied(pos uint64) {
	p.applied = pos
	p.n.update(p.c, func(c *county) { c.applied = pos })
}

var errRefusedInBatch = errors.New("a change set of the batch was refused")

// commit applies entries through the store (which verifies each change
// set's signature, chain and scope; the signature and operation rules only
// if the device's record changed since the entry was prepared) and, in the same transaction, their
// receipts, a revocation and the county's cursor. If one is refused nothing
// is stored and its index and result are returned.
func (n *Node) commit(code office.Code, entries []pendingEntry, rev *verifiedRevocation, cursor uint64) (int, store.Result, error) {
	ps := make([]*protocol.Prepared, len(entries))
	for i, e := range entries {
		ps[i] = e.prep
	}
	bad, badRes := -1, store.Result{}
	_, err := n.st.ApplyPrepared(ps, func(tx *bolt.Tx, results []store.Result) error {
		for i, r := range results {
			if !r.Applied() {
				bad, badRes = i, r
				return errRefusedInBatch
			}
		}
		rb := tx.Bucket(bReceipts)
		for _, e := range entries {
			if err := rb.Put(receiptKey(e.dev, e.seq), e.receipt); err != nil {
				return err
			}
		}
		if rev != nil {
			v, err := json.Marshal(rev.rec)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bRevocations).Put(rev.dev[:], v); err != nil {
				return err
			}
			d, err := store.DeviceRecordTx(tx, rev.dev)
			switch {
			case err == nil:
				d.Revoked, d.Reason = true, rev.reason
				if err := store.PutDeviceTx(tx, d); err != nil {
					return err
				}
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		if cursor > getCursor(tx, code) {
			return putCursor(tx, code, cursor)
		}
		return nil
	})
	if errors.Is(err, errRefusedInBatch) {
		return bad, badRes, nil
	}
	return -1, store.Result{}, err
}
