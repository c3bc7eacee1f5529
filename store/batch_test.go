package store

import (
	"errors"
	"strings"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/sync/protocol"
)

// TestCreateBatch creates three commitments in one transaction, one of
// them published: ordinary operations that another replica of the office
// accepts as it would work typed in one by one, reaching the same state.
func TestCreateBatch(t *testing.T) {
	a := newReplica(t, township, domain.RoleLeader)
	b := newReplica(t, township, domain.RoleStaff)
	introduce(t, a, b)
	items := []BatchItem{{Draft: sampleDraft("一")}, {Draft: sampleDraft("二"), Publish: true}, {Draft: sampleDraft("三")}}
	before, _ := a.Pending()
	refs, err := a.se.CreateBatch(items)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 3 {
		t.Fatalf("%d refs", len(refs))
	}
	for i, ref := range refs {
		c, err := a.Commitment(ref)
		if err != nil {
			t.Fatal(err)
		}
		want := domain.StatusDraft
		if items[i].Publish {
			want = domain.StatusPublished
		}
		if c.Title != items[i].Draft.Title || c.Status != want || ref.Office != township {
			t.Errorf("item %d: %s %q %s", i, ref, c.Title, c.Status)
		}
	}
	if p, _ := a.Pending(); p.PendingOps != before.PendingOps+4 {
		t.Errorf("pending operations %d, want %d + 4 (three creates, one publication)", p.PendingOps, before.PendingOps)
	}
	sets := a.seal(t, 0)
	deliver(t, b, sets...)
	if digest(t, a.Store) != digest(t, b.Store) {
		t.Fatal("the receiver's state differs after the batch")
	}
	// Operation numbers carry on after a batch without a gap.
	if _, err := a.se.Create(sampleDraft("四")); err != nil {
		t.Fatal(err)
	}
	deliver(t, b, a.seal(t, uint64(len(sets)))...)
}

// TestCreateBatchAllOrNothing: one bad item, a publication asked by a
// staff member, or an empty title refuse the whole batch and store and
// queue nothing; the operation numbers used by the refused batch are used
// again by the next action.
func TestCreateBatchAllOrNothing(t *testing.T) {
	leader := newReplica(t, township, domain.RoleLeader)
	if err := leader.se.AddAccount("clerk", "办事员", domain.RoleStaff, "办事员的口令123"); err != nil {
		t.Fatal(err)
	}
	staff, err := leader.SignIn("clerk", "办事员的口令123")
	if err != nil {
		t.Fatal(err)
	}
	bad := sampleDraft("坏的")
	bad.Category = "gambling"
	long := sampleDraft(strings.Repeat("长", domain.MaxTitleBytes))
	noStart := sampleDraft("没有开始日期")
	noStart.StartDate = calendar.Date{}
	cases := []struct {
		name  string
		se    *Session
		items []BatchItem
		index int
		want  error
	}{
		{"bad category", nil, []BatchItem{{Draft: sampleDraft("好")}, {Draft: bad}}, 1, protocol.ErrInvalidOperation},
		{"title too long", nil, []BatchItem{{Draft: sampleDraft("好"), Publish: true}, {Draft: sampleDraft("也好")}, {Draft: long}}, 2, protocol.ErrInvalidOperation},
		{"working days without a start", nil, []BatchItem{{Draft: noStart}}, 0, domain.ErrInvalidValue},
		{"staff publishes", staff, []BatchItem{{Draft: sampleDraft("好")}, {Draft: sampleDraft("发布"), Publish: true}}, 1, domain.ErrNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := refused(t, tc.name, leader, tc.se, func(se *Session) error {
				_, err := se.CreateBatch(tc.items)
				return err
			})
			var be *BatchError
			if !errors.As(err, &be) || be.Index != tc.index || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want item %d refused with %v", err, tc.index, tc.want)
			}
			if cs, _ := leader.AllCommitments(); len(cs) != 0 {
				t.Fatalf("%d commitments stored", len(cs))
			}
		})
	}
	// Staff may import drafts.
	before, _ := leader.Pending()
	if _, err := staff.CreateBatch([]BatchItem{{Draft: sampleDraft("草稿")}}); err != nil {
		t.Fatal(err)
	}
	if p, _ := leader.Pending(); p.PendingOps != before.PendingOps+1 {
		t.Fatalf("pending %+v, before %+v", p, before)
	}
	sets := leader.seal(t, 0)
	other := newReplica(t, township, domain.RoleLeader)
	introduce(t, leader, other)
	deliver(t, other, sets...) // no gap left by the refusals in the operation numbers
}
