package municipal

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/server/public"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

// Cases the public files on this node's page (server/public) travel to the
// county that owns the record on the next upstream session with it
// (docs/municipal.md, "Cases filed here"). The node keeps each intake, its
// signed bytes and the files filed with it, in its own buckets until the
// county answers: never replicated, not in the digest. The filer's name and
// phone are sealed to the county inside SubmitIntake, before anything is
// stored or logged; only the sealed box is kept.

// The node is the public page's intake sink, and finds a filing by its
// case number for the tracking page.
var (
	_ public.IntakeSink   = (*Node)(nil)
	_ public.IntakeFinder = (*Node)(nil)
)

var (
	bIntakes     = []byte("x-intakes")     // case ID -> intakeRecord (State: public.IntakePending, …)
	bIntakeIDs   = []byte("x-intakeids")   // case number -> case ID of an intake taken here
	bIntakeFiles = []byte("x-intakefiles") // case ID | hash -> a file filed with it, until the county answers
	bEvPartial   = []byte("x-evpartial")   // hash|offset -> chunk of an evidence file being fetched from a county
)

// intakeRecord is an intake as the node keeps it.
type intakeRecord struct {
	County    office.Code   `json:"county"`
	Raw       []byte        `json:"raw"` // the signed JNCI: the contact in it is sealed to the county
	Filed     int64         `json:"filed"`
	State     string        `json:"state"`
	Code      protocol.Code `json:"code,omitempty"`    // refused
	Message   string        `json:"message,omitempty"` // refused
	Pos       uint64        `json:"pos,omitempty"`     // accepted
	Submitted time.Time     `json:"submitted"`
	Answered  time.Time     `json:"answered,omitzero"`
}

func intakeFileKey(id protocol.EntityID, h protocol.Hash) []byte {
	return append(append([]byte(nil), id[:]...), h[:]...)
}

// countyFor returns the trusted county whose area holds office o, and its
// key.
func (n *Node) countyFor(o office.Code) (office.Code, ed25519.PublicKey, bool) {
	for code, key := range n.trust {
		if code.Contains(o) {
			return code, key, true
		}
	}
	return "", nil, false
}

// SubmitIntake takes a filing from the public page (public.IntakeSink):
// it seals contact to the county of in.Office, signs the intake with the
// node's key and stores it with its files in one transaction, then has the
// intake sent to the county now if it is reachable (else on its next
// session). The same ID taken again changes nothing. Errors:
// protocol.ErrOutOfScope (no trusted county covers the office),
// domain.ErrInvalidValue (the contact), protocol.ErrInvalidOperation (files
// that are not exactly the intake's, or an intake that breaks its rules),
// anything else internal.
func (n *Node) SubmitIntake(ctx context.Context, in *protocol.Intake, contact protocol.Contact, files map[protocol.Hash][]byte) error {
	code, key, ok := n.countyFor(in.Office)
	if !ok {
		return fmt.Errorf("%w: no trusted county covers office %s", protocol.ErrOutOfScope, in.Office)
	}
	if len(files) != len(in.Attachments) {
		return fmt.Errorf("%w: %d files for %d attachments", protocol.ErrInvalidOperation, len(files), len(in.Attachments))
	}
	for _, a := range in.Attachments {
		data, ok := files[a.Hash]
		if !ok || int64(len(data)) != a.Size || sha256.Sum256(data) != a.Hash {
			return fmt.Errorf("%w: attachment %s: its content is missing or not what the intake says", protocol.ErrInvalidOperation, a.Hash)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sealed, err := protocol.SealContact(contact, key)
	if err != nil {
		return err
	}
	in.Contact = sealed
	raw := in.Sign(n.id.Key)
	if _, err := protocol.DecodeIntake(raw); err != nil {
		return err
	}
	rec := intakeRecord{County: code, Raw: raw, Filed: in.Filed, State: public.IntakePending, Submitted: n.cfg.Now().UTC()}
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	taken := false
	err = n.st.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIntakes)
		if b.Get(in.ID[:]) != nil {
			return nil // taken before: a form sent twice
		}
		taken = true
		if err := tx.Bucket(bIntakeIDs).Put([]byte(in.Number), in.ID[:]); err != nil {
			return err
		}
		for _, a := range in.Attachments {
			if err := tx.Bucket(bIntakeFiles).Put(intakeFileKey(in.ID, a.Hash), files[a.Hash]); err != nil {
				return err
			}
		}
		return b.Put(in.ID[:], v)
	})
	if err != nil || !taken {
		return err
	}
	n.log.Info("intake taken", "case", in.Number, "county", string(code), "office", string(in.Office), "files", len(in.Attachments))
	n.intakeWaiting(code)
	n.mu.Lock()
	n.notify() // the status counts it
	n.mu.Unlock()
	return nil
}

// intakeWaiting has the county's pending intakes sent: on the session open
// with it, and in any case on the next one, which it asks for now.
func (n *Node) intakeWaiting(code office.Code) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.counties[code]
	if c == nil || c.key == nil {
		return
	}
	if c.session != nil {
		c.session.wakeSender()
	}
	c.force = true
	kick(c)
}

// IntakeState reports an intake this node took (public.IntakeSink).
func (n *Node) IntakeState(id protocol.EntityID) (public.IntakeState, bool, error) {
	var rec intakeRecord
	found := false
	err := n.st.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bIntakes).Get(id[:])
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &rec)
	})
	if err != nil || !found {
		return public.IntakeState{}, false, err
	}
	in, err := protocol.DecodeIntake(rec.Raw)
	if err != nil {
		return public.IntakeState{}, false, fmt.Errorf("stored intake %s: %w", id, err)
	}
	return public.IntakeState{Intake: in, State: rec.State, Code: rec.Code, Message: rec.Message, Pos: rec.Pos}, true, nil
}

// IntakeByNumber returns the ID of the filing with the given case number,
// if this node took it (public.IntakeFinder).
func (n *Node) IntakeByNumber(number string) (protocol.EntityID, bool, error) {
	var id protocol.EntityID
	found := false
	err := n.st.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bIntakeIDs).Get([]byte(number)); len(v) == len(id) {
			copy(id[:], v)
			found = true
		}
		return nil
	})
	return id, found, err
}

// outIntake is a pending intake to send to its county.
type outIntake struct {
	in  *protocol.Intake
	raw []byte
}

// pendingIntakes returns a county's pending intakes in the order they were
// filed.
func (n *Node) pendingIntakes(code office.Code) ([]outIntake, error) {
	var out []outIntake
	err := n.st.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bIntakes).ForEach(func(_, v []byte) error {
			var rec intakeRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec.County != code || rec.State != public.IntakePending {
				return nil
			}
			in, err := protocol.DecodeIntake(rec.Raw)
			if err != nil {
				return err
			}
			out = append(out, outIntake{in: in, raw: rec.Raw})
			return nil
		})
	})
	slices.SortFunc(out, func(a, b outIntake) int {
		return cmp.Or(cmp.Compare(a.in.Filed, b.in.Filed), bytes.Compare(a.in.ID[:], b.in.ID[:]))
	})
	return out, err
}

// intakesPending counts the pending intakes of each county.
func (n *Node) intakesPending() (map[office.Code]int, error) {
	out := map[office.Code]int{}
	err := n.st.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bIntakes).ForEach(func(_, v []byte) error {
			var rec intakeRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec.State == public.IntakePending {
				out[rec.County]++
			}
			return nil
		})
	})
	return out, err
}

// intakeFile returns a file filed with an intake.
func (n *Node) intakeFile(id protocol.EntityID, h protocol.Hash) ([]byte, bool) {
	var out []byte
	n.st.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bIntakeFiles).Get(intakeFileKey(id, h)); v != nil {
			out = slices.Clone(v)
		}
		return nil
	})
	return out, out != nil
}

// intakeAnswered records the county's answer to a pending intake: accepted
// at feed position pos, or refused with code and message. Its files leave
// the outbox in the same transaction; those of an accepted case go to the
// replica's evidence, which the public page serves once the case cites
// them. An answer to an intake that is not pending (answered before, or
// not this node's) changes nothing; ok reports whether it changed.
func (n *Node) intakeAnswered(id protocol.EntityID, state string, pos uint64, code protocol.Code, msg string) (rec intakeRecord, ok bool, err error) {
	err = n.st.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bIntakes)
		v := b.Get(id[:])
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if rec.State != public.IntakePending {
			return nil
		}
		ok = true
		rec.State, rec.Pos, rec.Code, rec.Message, rec.Answered = state, pos, code, msg, n.cfg.Now().UTC()
		files := tx.Bucket(bIntakeFiles)
		c := files.Cursor()
		for k, v := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, v = c.Seek(id[:]) {
			if state == public.IntakeAccepted {
				var h protocol.Hash
				copy(h[:], k[len(id):])
				if err := store.PutEvidenceContentTx(tx, h, v); err != nil {
					return err
				}
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		nv, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put(id[:], nv)
	})
	return rec, ok, err
}

// admit is the replica's Admit hook (store.Options): a public case whose
// intake names this node must carry an intake this node signed. The node
// knows no other node's key, so for those it trusts the county's device,
// as the county checked the intake against the node that signed it.
func (n *Node) admit(_ *bolt.Tx, cs *protocol.ChangeSet) error {
	for i := range cs.Ops {
		op := &cs.Ops[i]
		if op.Kind != protocol.OpCase || op.Case.Source != domain.CaseSourcePublic {
			continue
		}
		in, err := protocol.DecodeIntake(op.Case.Intake)
		if err != nil || in.Node != n.id.ID {
			continue // Verify has checked the rules; another node's intake
		}
		if _, err := protocol.OpenIntake(op.Case.Intake, n.id.PublicKey()); err != nil {
			return fmt.Errorf("op %d: an intake naming this node that it did not sign: %w", op.Num, err)
		}
	}
	return nil
}

// errNoIntake marks an evidence_want for a file of no intake this session
// sent.
var errNoIntake = errors.New("no intake sent on this session has the file")
