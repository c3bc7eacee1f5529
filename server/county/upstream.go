package county

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/websocket"
	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// The upstream feed (GET /upstream) serves the county's whole feed — every
// office's change sets, in feed order — to the municipal nodes the county
// admin has authorised, each change set with the county's receipt for it and
// preceded by its device's certificate, and revocations with the feed
// position at which they took effect. It is a session like /sync (challenge,
// hello signed by the node's key, welcome; acks for flow control), but a
// municipal node pushes no change set: it sends the cases filed on its page
// (intake.go) and asks for evidence files for its public page.
// docs/protocol.md, "Upstream", describes it.

var (
	bUpstream = []byte("x-upstream") // node ID -> countyapi.UpstreamNode: who may pull the feed
	bRevPos   = []byte("x-revpos")   // device -> feed position (8 bytes) its revocation took effect at
)

// upstreamKey is the node's public key; nil if it does not decode.
func upstreamKey(n countyapi.UpstreamNode) ed25519.PublicKey {
	k, err := hex.DecodeString(n.Key)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil
	}
	return k
}

// AuthoriseUpstream lets the municipal node holding key pull the county's
// whole feed over /upstream. name is how the admin knows it (e.g.
// "市信用平台-1"). Authorising a key again only renames it.
func (s *Server) AuthoriseUpstream(key ed25519.PublicKey, name string) error {
	_, err := s.authoriseUpstream(key, name, "")
	return err
}

func (s *Server) authoriseUpstream(key ed25519.PublicKey, name, who string) (countyapi.UpstreamNode, error) {
	if len(key) != ed25519.PublicKeySize {
		return countyapi.UpstreamNode{}, fmt.Errorf("%w: an upstream node key is %d bytes of ed25519 public key, not %d", protocol.ErrMalformed, ed25519.PublicKeySize, len(key))
	}
	if !domain.NonBlank(name) || domain.CheckText("name", name, protocol.MaxNameBytes) != nil {
		return countyapi.UpstreamNode{}, fmt.Errorf("%w: an upstream node needs a name of at most %d bytes", protocol.ErrInvalidOperation, protocol.MaxNameBytes)
	}
	id := protocol.DeviceIDFromKey(key)
	n := countyapi.UpstreamNode{ID: id, Key: hex.EncodeToString(key), Name: name, Added: s.cfg.Now().UTC(), AddedBy: who}
	err := s.st.Update(func(tx *bolt.Tx) error {
		var old countyapi.UpstreamNode
		found, err := getJSON(tx, bUpstream, id[:], &old)
		if err != nil {
			return err
		}
		if found {
			n.Added, n.AddedBy = old.Added, old.AddedBy
		}
		if err := putAudit(tx, countyapi.AuditEntry{Time: s.cfg.Now(), Who: who, Action: AuditUpstream, Target: id.String(), Detail: name}); err != nil {
			return err
		}
		return putJSON(tx, bUpstream, id[:], n)
	})
	if err != nil {
		return countyapi.UpstreamNode{}, err
	}
	s.log.Info("upstream node authorised", "node", id, "name", name, "by", who)
	return n, nil
}

// Upstreams lists the authorised municipal nodes in ID order.
func (s *Server) Upstreams() ([]countyapi.UpstreamNode, error) {
	out := []countyapi.UpstreamNode{}
	err := s.st.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bUpstream).ForEach(func(_, v []byte) error {
			var n countyapi.UpstreamNode
			if err := json.Unmarshal(v, &n); err != nil {
				return err
			}
			out = append(out, n)
			return nil
		})
	})
	return out, err
}

func (s *Server) upstreamNode(id protocol.DeviceID) (countyapi.UpstreamNode, bool, error) {
	var n countyapi.UpstreamNode
	var found bool
	err := s.st.View(func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx, bUpstream, id[:], &n)
		return err
	})
	return n, found, err
}

// FeedWaiter returns a channel closed the next time the feed advances or a
// revocation is recorded: what a cluster member announcing the county's
// head waits on (package cluster), outside the ingest loop.
func (s *Server) FeedWaiter() <-chan struct{} { return s.feedWaiter() }

// putRevocationPos records the feed position at which a device's revocation
// took effect — the feed head in the revoking transaction: every change set
// at or before it was accepted before the revocation, and the ingest loop
// refuses the device's change sets from then on — unless one is recorded.
func putRevocationPos(tx *bolt.Tx, dev protocol.DeviceID) error {
	b := tx.Bucket(bRevPos)
	if b.Get(dev[:]) != nil {
		return nil // revoked again: it took effect the first time
	}
	return b.Put(dev[:], binary.BigEndian.AppendUint64(nil, store.FeedHeadTx(tx)))
}

// upstreamRevocation is a revocation as the upstream feed sends it.
type upstreamRevocation struct {
	dev protocol.DeviceID
	pos uint64
	doc []byte
}

// revocationsSince returns the revocations that took effect at or after
// feed position from, by position. A revocation recorded before positions
// were kept counts as taking effect after the device's last change set,
// which is equivalent: the county accepted nothing of it afterwards.
func (s *Server) revocationsSince(from uint64) ([]upstreamRevocation, error) {
	var out []upstreamRevocation
	var legacy []int
	err := s.st.View(func(tx *bolt.Tx) error {
		pos := tx.Bucket(bRevPos)
		return tx.Bucket(bRevocations).ForEach(func(k, v []byte) error {
			var r upstreamRevocation
			copy(r.dev[:], k)
			r.doc = bytes.Clone(v)
			if p := pos.Get(k); len(p) == 8 {
				r.pos = binary.BigEndian.Uint64(p)
			} else {
				legacy = append(legacy, len(out))
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if len(legacy) > 0 {
		heads, err := s.st.Heads()
		if err != nil {
			return nil, err
		}
		for _, i := range legacy {
			if h := heads[out[i].dev]; h.Seq > 0 {
				fe, ok, err := s.st.FeedEntryOf(out[i].dev, h.Seq)
				if err != nil {
					return nil, err
				}
				if ok {
					out[i].pos = fe.Pos
				}
			}
		}
	}
	out = slices.DeleteFunc(out, func(r upstreamRevocation) bool { return r.pos < from })
	slices.SortFunc(out, func(a, b upstreamRevocation) int {
		if c := cmp.Compare(a.pos, b.pos); c != 0 {
			return c
		}
		return bytes.Compare(a.dev[:], b.dev[:])
	})
	return out, nil
}

// upstreamRoutes registers the upstream feed and its admin API.
func (s *Server) upstreamRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /upstream", s.serveUpstream)
	mux.HandleFunc("GET /admin/upstream", s.admin(s.listUpstream))
	mux.HandleFunc("POST /admin/upstream", s.admin(s.addUpstream))
}

func (s *Server) addUpstream(w http.ResponseWriter, r *http.Request, who string) {
	var body countyapi.UpstreamRequest
	err := readBody(r, &body)
	var key []byte
	if err == nil {
		key, err = hex.DecodeString(strings.TrimSpace(body.Key))
		if err != nil {
			err = fmt.Errorf("%w: key is not hex: %v", protocol.ErrMalformed, err)
		}
	}
	var n countyapi.UpstreamNode
	if err == nil {
		n, err = s.authoriseUpstream(key, body.Name, who)
	}
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, n)
}

func (s *Server) listUpstream(w http.ResponseWriter, r *http.Request, _ string) {
	list, err := s.Upstreams()
	if err != nil {
		s.writeErr(w, r, http.StatusInternalServerError, err)
		return
	}
	countyapi.WriteJSON(w, http.StatusOK, list)
}

// upstreamQueues sizes an upstream session's writer: control frames first
// (the answers to intakes, evidence control, errors), then the feed
// (certificates, entries, revocations, caught_up: in feed order), evidence
// chunks only when nothing else waits. The control queue holds more than a
// session can have unanswered (maxSessionIntakes, each with a want and a
// stored).
var upstreamQueues = wsconn.PumpConfig{ControlQueue: 4 * maxSessionIntakes, StreamQueue: 64, BulkQueue: 4}

// upstreamSession is one municipal node's connection: a reader (acks,
// intakes and their files, evidence requests), a writer and a feeder, like
// a device session.
type upstreamSession struct {
	peer
	node countyapi.UpstreamNode

	// The intakes in progress (intake.go), in the order they arrived, and
	// the file being received for one; only the reader touches them.
	intakes map[protocol.EntityID]*pendingIntake
	order   []protocol.EntityID
	upload  *intakeUpload
	// streams holds a token per evidence file being streamed to the node.
	streams chan struct{}
}

func (s *Server) serveUpstream(w http.ResponseWriter, r *http.Request) {
	conn, err := s.upgrade(w, r, websocket.Upgrader{ReadBufferSize: 4 << 10, WriteBufferSize: 64 << 10})
	if err != nil {
		s.log.Info("upstream websocket upgrade refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	us := &upstreamSession{peer: s.newPeer(conn, r.RemoteAddr, upstreamQueues),
		intakes: map[protocol.EntityID]*pendingIntake{}, streams: make(chan struct{}, maxUpstreamStreams)}
	cursor, err := us.handshake()
	if err != nil {
		conn.Close()
		return
	}
	authenticated(r)
	us.log = s.log.With("upstream", us.node.ID, "name", us.node.Name, "remote", us.remote)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	if s.upstreams == nil {
		s.upstreams = make(map[*upstreamSession]struct{})
	}
	s.upstreams[us] = struct{}{}
	s.mu.Unlock()
	us.log.Info("upstream session opened", "cursor", cursor)
	us.start(&upstreamFeed{srv: s, cursor: cursor, revSent: map[protocol.DeviceID]bool{}}, cursor, us.readLoop, func() {
		s.mu.Lock()
		delete(s.upstreams, us)
		s.mu.Unlock()
		us.log.Info("upstream session closed", "acked", us.acked.Load())
	})
}

// upstreamSessions returns the open upstream sessions, to act on each
// without holding s.mu (closing one takes it again).
func (s *Server) upstreamSessions() []*upstreamSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*upstreamSession, 0, len(s.upstreams))
	for us := range s.upstreams {
		list = append(list, us)
	}
	return list
}

// closeUpstreams drops every upstream session (Close, end of Serve).
func (s *Server) closeUpstreams() {
	for _, us := range s.upstreamSessions() {
		us.close()
	}
}

func (us *upstreamSession) handshake() (uint64, error) {
	s := us.srv
	nonce, hello, err := us.challenge("node", us.refuse)
	if err != nil {
		return 0, err
	}
	node, found, err := s.upstreamNode(hello.Device)
	if err != nil {
		return 0, us.refuse(hello.Device, err)
	}
	if !found {
		return 0, us.refuse(hello.Device, fmt.Errorf("%w: node %s is not authorised for the upstream feed (jiannuo-server upstream add)", protocol.ErrNotAuthorized, hello.Device))
	}
	if !protocol.VerifyChallenge(upstreamKey(node), nonce, s.id.Fingerprint, hello.Sig) {
		return 0, us.refuse(hello.Device, fmt.Errorf("%w: upstream session challenge", protocol.ErrBadSignature))
	}
	us.node = node
	head, err := s.st.FeedHead()
	if err != nil {
		return 0, us.refuse(hello.Device, err)
	}
	cursor, epoch := s.epochCursor(hello)
	if cursor > head {
		// The node has more than this server and said no epoch: the
		// server was restored from an old backup. The node sees it from
		// the welcome.
		s.log.Warn("upstream node is ahead of the feed", "node", node.ID, "cursor", cursor, "head", head)
	}
	us.acked.Store(cursor)
	return cursor, us.pump.Write(&protocol.Frame{Type: protocol.FrameWelcome, Pos: head, Epoch: epoch})
}

// refuse is session.refuse for the handshake of an upstream session.
func (us *upstreamSession) refuse(node protocol.DeviceID, err error) error {
	code := protocol.CodeOf(err)
	us.srv.incident(countyapi.Incident{Device: node, Code: code, Message: "upstream: " + err.Error(), Remote: us.remote})
	us.pump.Write(&protocol.Frame{Type: protocol.FrameError, Code: code, Message: err.Error()})
	return err
}

// readLoop reads the node's frames until the session ends: acks, intakes
// and the chunks of their files (intake.go), requests for evidence files.
// Anything else ends it. An oversize message just ends it (no 1009, no
// incident), except an intake over its limit, which is refused as one.
func (us *upstreamSession) readLoop() {
	s := us.srv
	us.keepReading()
	for {
		typ, data, err := wsconn.ReadMessage(us.conn)
		if err != nil {
			return
		}
		us.extend()
		f, err := decodeMessage(typ, data)
		if err != nil && len(data) > 0 && protocol.FrameType(data[0]) == protocol.FrameCaseIntake && typ == websocket.BinaryMessage {
			// The intake, not the session, is at fault.
			us.refuseIntake(intakeID(data[1:]), "", err)
			continue
		}
		if err == nil {
			switch f.Type {
			case protocol.FrameAck:
				us.ack(f.Pos)
				continue
			case protocol.FrameCaseIntake:
				us.caseIntake(f.Body)
				continue
			case protocol.FrameEvidenceChunk:
				us.intakeChunk(f)
				continue
			case protocol.FrameEvidenceGet:
				us.evidenceGet(f)
				continue
			}
			err = fmt.Errorf("%w: unexpected %s frame on the upstream feed", protocol.ErrMalformed, f.Type)
		}
		s.deviceIncident(countyapi.Incident{Device: us.node.ID, Code: protocol.CodeOf(err), Message: "upstream: " + err.Error(), Remote: us.remote})
		us.fail(protocol.CodeOf(err), err.Error())
		<-us.done()
		return
	}
}

// evidenceGet streams an evidence file to the node, for its public page:
// any file a record of the county cites and the county holds; not_found
// (ask again later) for one it does not hold yet, or while
// maxUpstreamStreams files are streaming.
func (us *upstreamSession) evidenceGet(f *protocol.Frame) {
	s := us.srv
	refuse := func(msg string) {
		us.send(&protocol.Frame{Type: protocol.FrameRefused, Device: us.node.ID, Code: protocol.CodeNotFound, Hash: f.Hash,
			Message: "evidence " + f.Hash.String() + ": " + msg})
	}
	offices, err := s.st.EvidenceOffice(f.Hash)
	if err != nil || len(offices) == 0 {
		refuse("no record of the county cites the file")
		return
	}
	data, err := s.st.EvidenceContent(f.Hash)
	if err != nil {
		refuse("not on the server yet")
		return
	}
	select {
	case us.streams <- struct{}{}:
	default:
		refuse("busy: ask again")
		return
	}
	go func() {
		defer func() { <-us.streams }()
		for off := f.Offset; off < int64(len(data)); off += protocol.MaxChunkBytes {
			chunk := data[off:min(off+protocol.MaxChunkBytes, int64(len(data)))]
			if !us.pump.Send(wsconn.Bulk, &protocol.Frame{Type: protocol.FrameEvidenceChunk, Hash: f.Hash, Offset: off, Body: chunk}) {
				return
			}
		}
	}()
}

// upstreamFeed is the feed as a municipal node sees it: each change set
// with the county's receipt for it (signed again from the feed entry, the
// same bytes its device got); each revocation that took effect at or after
// the node's cursor, between the change sets before and after its
// position, preceded by its device's certificate like a change set.
type upstreamFeed struct {
	srv     *Server
	cursor  uint64
	revs    []upstreamRevocation // read afresh before each read of the feed
	revSent map[protocol.DeviceID]bool
}

func (v *upstreamFeed) begin() error {
	revs, err := v.srv.revocationsSince(v.cursor)
	if err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	v.revs = revs
	return nil
}

func (v *upstreamFeed) keep(store.FeedEntry) bool { return true }

func (v *upstreamFeed) entry(e store.FeedEntry, raw []byte) *protocol.Frame {
	s := v.srv
	rc := protocol.Receipt{County: s.id.County, Device: e.Device, Seq: e.Seq, Hash: e.Hash, Pos: e.Pos, Time: e.Time}
	return &protocol.Frame{Type: protocol.FrameUpstreamEntry, Pos: e.Pos, Receipt: rc.Sign(s.id.Key), Body: raw}
}

// interleave adds the revocations that took effect before feed position p.
func (v *upstreamFeed) interleave(b *feedFrames, p uint64) {
	for _, r := range v.revs {
		if r.pos >= p {
			break
		}
		if v.revSent[r.dev] {
			continue
		}
		v.revSent[r.dev] = true
		b.cert(r.dev)
		b.add(&protocol.Frame{Type: protocol.FrameUpstreamRevocation, Pos: r.pos,
			Sig: protocol.SignRevocationAt(v.srv.id.Key, r.doc, r.pos), Body: r.doc})
	}
}

func (v *upstreamFeed) settled() []*protocol.Frame { return nil }
