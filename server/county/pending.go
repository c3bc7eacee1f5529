package county

import (
	"encoding/json"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// pendingCount counts the enrolment requests waiting for an admin, per
// office and in all, so that an unauthenticated POST /enrol can be refused
// when the county has as many as it accepts (MaxPendingPerOffice,
// MaxPending) without reading every enrolment. Anyone can make a key and
// sign a request, so without the bound a script fills the admin's list and
// the database.
type pendingCount struct {
	perOffice, total int

	mu       sync.Mutex
	byOffice map[office.Code]int
	all      int
}

// countPending counts the pending enrolments of st.
func countPending(st *store.Store, perOffice, total int) (*pendingCount, error) {
	p := &pendingCount{perOffice: perOffice, total: total, byOffice: make(map[office.Code]int)}
	err := st.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bEnrolments).ForEach(func(_, v []byte) error {
			var e countyapi.Enrolment
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if e.Status == countyapi.EnrolPending {
				p.byOffice[e.Office]++
				p.all++
			}
			return nil
		})
	})
	return p, err
}

// take counts one more pending request for o, refusing it with
// ErrTooManyPending when o or the county is at its bound (unless force: a
// re-enrolment, which only an enrolled device's key can ask for).
func (p *pendingCount) take(o office.Code, force bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case force:
	case p.byOffice[o] >= p.perOffice:
		return fmt.Errorf("%w: %d requests of office %s wait for the county admin", protocol.ErrTooManyPending, p.byOffice[o], o)
	case p.all >= p.total:
		return fmt.Errorf("%w: %d requests wait for the county admin", protocol.ErrTooManyPending, p.all)
	}
	p.byOffice[o]++
	p.all++
	return nil
}

// done counts one pending request of o less: decided, or not stored
// after all.
func (p *pendingCount) done(o office.Code) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byOffice[o]--; p.byOffice[o] <= 0 {
		delete(p.byOffice, o)
	}
	p.all--
}
