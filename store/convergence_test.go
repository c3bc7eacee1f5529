package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
)

// TestConvergence is the property behind offline-first sync: replicas that
// act independently and then exchange change sets in any order that keeps
// each device's own order end byte-for-byte equal, with conflicts exactly
// where two devices wrote the same field without seeing each other's write.
//
// Each round, every township replica makes random edits offline; then all
// change sets of the round reach every replica in a random interleaving,
// some twice. An oracle tracks which fields were written by two replicas in
// the same round (concurrently) and which the county admin resolved. At the
// end a fresh replica receives the whole history in yet another order.
func TestConvergence(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if testing.Short() {
		seeds = seeds[:2]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runConvergence(t, seed) })
	}
}

type fieldKeyT struct {
	ref Ref
	f   domain.Field
}

func runConvergence(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	const nTownship, nCommitments, rounds = 3, 4, 6
	var reps []*replica
	for range nTownship {
		reps = append(reps, newReplica(t, township, domain.RoleLeader))
	}
	admin := newReplica(t, county, domain.RoleCountyAdmin)
	all := append(slices.Clone(reps), admin)
	introduce(t, all...)

	sent := make(map[*replica]uint64) // change sets of each replica already delivered
	var history [][][]byte            // per round, per replica: every change set ever made
	exchange := func() {
		var streams [][][]byte
		for _, r := range all {
			sets := r.seal(t, sent[r])
			sent[r] += uint64(len(sets))
			streams = append(streams, sets)
		}
		history = append(history, streams...)
		for i, r := range all {
			var others [][][]byte
			for j, s := range streams {
				if i != j {
					others = append(others, s)
				}
			}
			deliver(t, r, interleave(rng, others, true)...)
		}
	}

	// Round 0: the first replica creates and publishes some commitments.
	var refs []Ref
	for i := range nCommitments {
		ref, err := reps[0].se.Create(sampleDraft(fmt.Sprintf("承诺%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := reps[0].se.Publish(ref); err != nil {
				t.Fatal(err)
			}
		}
		refs = append(refs, ref)
	}
	exchange()

	conflicted := make(map[fieldKeyT]bool) // the oracle
	contentFields := []domain.Field{domain.FieldTitle, domain.FieldText, domain.FieldResponsible, domain.FieldLegalBasis}
	for round := 1; round <= rounds; round++ {
		writers := make(map[fieldKeyT]map[int]bool)
		for ri, r := range reps {
			for n := rng.IntN(6); n > 0; n-- {
				ref := refs[rng.IntN(len(refs))]
				c, err := r.Commitment(ref)
				if err != nil {
					t.Fatal(err)
				}
				f := contentFields[rng.IntN(len(contentFields))]
				value := fmt.Sprintf("r%d-d%d-%d", round, ri, n)
				k := fieldKeyT{ref, f}
				var actErr error
				switch {
				case rng.IntN(4) == 0 && c.Status != domain.StatusDraft:
					_, actErr = r.se.LogFulfilment(ref, EntryInput{Date: calendar.NewDate(2026, 10, 1+round), Progress: rng.IntN(101), Note: value})
					k = fieldKeyT{}
				case domain.Editable(c.Status):
					actErr = r.se.Edit(ref, f, value)
				default:
					actErr = r.se.Amend(ref, []Change{{f, value}}, "调整 "+value)
				}
				if conflicted[k] {
					if !errors.Is(actErr, ErrConflicted) {
						t.Fatalf("round %d: write to conflicted %s accepted: %v", round, f, actErr)
					}
					continue
				}
				if actErr != nil {
					t.Fatalf("round %d: %v", round, actErr)
				}
				if k != (fieldKeyT{}) {
					if writers[k] == nil {
						writers[k] = map[int]bool{}
					}
					writers[k][ri] = true
				}
			}
		}
		for k, w := range writers {
			if len(w) > 1 {
				conflicted[k] = true
			}
		}
		// Now and then the county admin settles what it can see. Its
		// replica is up to date with the previous round only, so it
		// resolves only conflicts it already knows.
		if round%2 == 0 {
			cs, err := admin.Conflicts()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if rng.IntN(2) == 0 {
					continue
				}
				k := fieldKeyT{c.Ref, c.Field}
				if len(writers[k]) > 0 {
					// A township wrote it this round: they were refused
					// (it is conflicted) so the admin's view is current.
					t.Fatalf("write to a conflicted field got through")
				}
				if err := admin.se.Resolve(c.Ref, c.Field, "核定-"+c.Provisional, "县信用办核定"); err != nil {
					t.Fatal(err)
				}
				delete(conflicted, k)
			}
		}
		exchange()

		want := digest(t, admin.Store)
		for i, r := range reps {
			if got := digest(t, r.Store); got != want {
				t.Fatalf("round %d: replica %d differs from the admin replica", round, i)
			}
		}
		got := make(map[fieldKeyT]bool)
		cs, _ := admin.Conflicts()
		for _, c := range cs {
			got[fieldKeyT{c.Ref, c.Field}] = true
		}
		if len(got) != len(conflicted) {
			t.Fatalf("round %d: %d conflicts, oracle predicts %d", round, len(got), len(conflicted))
		}
		for k := range conflicted {
			if !got[k] {
				t.Fatalf("round %d: concurrent writes to %s of %s not recorded as a conflict", round, k.f, k.ref)
			}
		}
	}

	// A newcomer receives the whole history in one random order that keeps
	// each device's own order, and must end equal too.
	late := newReplica(t, township, domain.RoleStaff)
	introduce(t, append(all, late)...)
	byDevice := make(map[int][][]byte)
	for i, s := range history {
		byDevice[i%len(all)] = append(byDevice[i%len(all)], s...)
	}
	var streams [][][]byte
	for i := range all {
		streams = append(streams, byDevice[i])
	}
	deliver(t, late, interleave(rng, streams, false)...)
	if digest(t, late.Store) != digest(t, admin.Store) {
		a, _ := admin.Dump()
		b, _ := late.Dump()
		for k, v := range a {
			if b[k] != v {
				t.Errorf("newcomer differs at %s:\n admin   %s\n late    %s", k, v, b[k])
				break
			}
		}
		t.Fatal("a replica built from the same change sets in another order differs")
	}
}

// interleave merges streams in a random order that keeps each stream's own
// order; with dup, some change sets are delivered twice.
func interleave(rng *rand.Rand, streams [][][]byte, dup bool) [][]byte {
	pos := make([]int, len(streams))
	var out [][]byte
	for {
		var open []int
		for i, s := range streams {
			if pos[i] < len(s) {
				open = append(open, i)
			}
		}
		if len(open) == 0 {
			return out
		}
		i := open[rng.IntN(len(open))]
		out = append(out, streams[i][pos[i]])
		if dup && rng.IntN(5) == 0 {
			out = append(out, streams[i][pos[i]])
		}
		pos[i]++
	}
}
