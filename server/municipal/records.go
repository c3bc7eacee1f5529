package municipal

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// The node's own buckets beside the replica in the same file (the store
// leaves names starting with "x-" to its callers): they commit in the
// same transactions as the change sets they describe. None is in the
// replica's digest, which is why two nodes' digests are comparable.
var (
	bCursors     = []byte("x-cursors")     // county code -> feed position applied (8 bytes)
	bEpochs      = []byte("x-epochs")      // county code -> the feed epoch the cursor counts in (16 bytes)
	bCerts       = []byte("x-certs")       // device -> its county-signed certificate
	bReceipts    = []byte("x-receipts")    // device|seq -> the county's signed receipt
	bRevocations = []byte("x-revocations") // device -> revocationRecord
	bIncidents   = []byte("x-incidents")   // time|counter -> Incident
)

var nodeBuckets = [][]byte{bCursors, bEpochs, bCerts, bReceipts, bRevocations, bIncidents, bIntakes, bIntakeIDs, bIntakeFiles, bEvPartial}

func ensureBuckets(st *store.Store) error {
	return st.Update(func(tx *bolt.Tx) error {
		for _, b := range nodeBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// Codes of incidents that are not change-set refusals (those carry the
// protocol's codes: bad_signature, malformed, fork, revoked_device, …).
const (
	// CodeReceiptMismatch: the county's receipt does not name exactly the
	// change set it came with (hash, device, sequence or position), or does
	// not verify with the county's key: the stored bytes were altered.
	CodeReceiptMismatch protocol.Code = "receipt_mismatch"
	// CodeFeedBehind: the county's feed ends before what this node has
	// already applied from it: the county server was restored from an old
	// backup, or replaced.
	CodeFeedBehind protocol.Code = "feed_behind"
)

// Incident is something a county server sent that this node refused: an
// altered change set, a receipt that does not match, a certificate or
// revocation that does not verify with the county's key, a county server
// presenting another key than the trust file's. It names the county.
type Incident struct {
	Time    time.Time         `json:"time"`
	County  office.Code       `json:"county"`
	Device  protocol.DeviceID `json:"device,omitzero"`
	Seq     uint64            `json:"seq,omitempty"`
	Pos     uint64            `json:"pos,omitempty"` // the change set's position in the county's feed
	Code    protocol.Code     `json:"code"`
	Message string            `json:"message"`
	Server  string            `json:"server,omitempty"` // the upstream address it came from
}

func putIncident(tx *bolt.Tx, in Incident) error {
	b := tx.Bucket(bIncidents)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	k := binary.BigEndian.AppendUint64(nil, uint64(in.Time.UnixMilli()))
	k = binary.BigEndian.AppendUint64(k, seq)
	v, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

// Incidents returns the recorded incidents, newest first.
func (n *Node) Incidents() ([]Incident, error) {
	out := []Incident{}
	err := n.st.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bIncidents).ForEach(func(_, v []byte) error {
			var in Incident
			if err := json.Unmarshal(v, &in); err != nil {
				return err
			}
			out = append(out, in)
			return nil
		})
	})
	slices.Reverse(out)
	return out, err
}

// revocationRecord is a verified revocation as the node keeps it: the
// county's documents, so it can show them to anyone.
type revocationRecord struct {
	County     office.Code `json:"county"`
	Pos        uint64      `json:"pos"`        // the county feed position it took effect at
	Revocation []byte      `json:"revocation"` // signed by the county
	Sig        []byte      `json:"sig"`        // the county's signature on (revocation, pos)
}

func cursorKey(c office.Code) []byte { return []byte(c) }

func getCursor(tx *bolt.Tx, c office.Code) uint64 {
	v := tx.Bucket(bCursors).Get(cursorKey(c))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putCursor(tx *bolt.Tx, c office.Code, pos uint64) error {
	return tx.Bucket(bCursors).Put(cursorKey(c), binary.BigEndian.AppendUint64(nil, pos))
}

// getEpoch returns the feed epoch of county c that the node's cursor
// counts in; zero if none is known (a node or county older than epochs).
func getEpoch(tx *bolt.Tx, c office.Code) protocol.Epoch {
	var e protocol.Epoch
	copy(e[:], tx.Bucket(bEpochs).Get(cursorKey(c)))
	return e
}

// Epoch returns the feed epoch of county c the node's cursor counts in.
func (n *Node) Epoch(c office.Code) (protocol.Epoch, error) {
	var e protocol.Epoch
	err := n.st.View(func(tx *bolt.Tx) error { e = getEpoch(tx, c); return nil })
	return e, err
}

func receiptKey(dev protocol.DeviceID, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), dev[:]...), seq)
}

// Cursor returns the position of a county's feed up to which this node has
// applied everything.
func (n *Node) Cursor(c office.Code) (uint64, error) {
	var pos uint64
	err := n.st.View(func(tx *bolt.Tx) error { pos = getCursor(tx, c); return nil })
	return pos, err
}

// Receipt returns the county's receipt for a change set this node holds.
func (n *Node) Receipt(dev protocol.DeviceID, seq uint64) ([]byte, bool, error) {
	var out []byte
	err := n.st.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bReceipts).Get(receiptKey(dev, seq)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, out != nil, err
}
