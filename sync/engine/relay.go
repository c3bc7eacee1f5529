package engine

import (
	"bytes"
	"slices"

	"jiannuo/store"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// A county restored from a backup lost what it accepted after the backup
// was taken. Each device pushes its own change sets again (the welcome's
// head says which the county lacks), but the county's feed also carried
// other devices' change sets and files to this replica, and some of their
// authors may never come back (a replaced laptop) or come back late. So a
// device that finds its county restored offers it those too:
//
//  1. The welcome names another feed epoch than the one this device's
//     cursor counts in (a county that speaks epochs was restored since):
//     the store restarts the feed (cursor 0, the new epoch, the relay
//     marked pending), and the county streams its feed from the start.
//  2. While the relay is pending, every session says hello with cursor 0,
//     so that it sees the county's whole feed of its scope: by the time it
//     has caught up with the welcome's head, the highest sequence number
//     delivered of each device is what the county holds of it.
//  3. This device then pushes, for each other device, the change sets it
//     holds after that number (a relay: the county verifies them as their
//     author's own, and answers with a receipt or a refusal naming the
//     author, which this device only counts). A refusal stops the relay of
//     that device for the session (its chain goes on with a change set
//     this replica lacks, or its author is not enrolled there now).
//  4. Once every relayed change set is answered, it offers every evidence
//     file whose content it holds and the county has not confirmed: the
//     county takes those it lacks, whoever added them.
//  5. The relay is done (store.RelayDone); a session cut before that does
//     it again from step 2.
//
// A county older than relays refuses the first one as wrong_device; the
// relay is then given up.

// relay is a link's relay state. The reader goroutine owns it; the
// counters the pushing goroutine moves are under link.mu.
type relay struct {
	pending  bool // owed to a restored county (store.RelayPending)
	tracking bool // this session streams the feed from 0: seen is complete at caught-up
	seen     map[protocol.DeviceID]uint64

	started bool // the change sets are being relayed
	sent    int  // relayed change sets pushed; under link.mu
	out     int  // of them not answered yet; under link.mu
	through bool // every change set to relay is pushed; under link.mu
	skip    map[protocol.DeviceID]bool
	files   bool // step 4 is under way
	done    bool // nothing more is owed; under link.mu
}

// busy reports whether the relay still has work in this session; link.mu
// is held.
func (r *relay) busy() bool { return r.pending && !r.done }

// epoch acts on the feed epoch of the welcome (step 1).
func (l *link) epoch(w *protocol.Frame) error {
	e := l.e
	if w.Epoch == nil || *w.Epoch == l.known {
		return nil
	}
	if l.known.IsZero() {
		// The first epoch this device hears of: its cursor counts in it.
		return e.st.SetCountyEpoch(*w.Epoch)
	}
	e.log.Warn("the county's feed is of another epoch: it was restored from a backup; receiving its feed again from the start and offering it what it may have lost",
		"cursor", l.cursor, "epoch", w.Epoch.String(), "before", l.known.String())
	if err := e.st.RestartFeed(*w.Epoch); err != nil {
		return err
	}
	l.cursor, l.rl.pending = 0, true
	e.progress.Add(1)
	return nil
}

// seen notes the device and sequence number of delivered change sets
// while the relay tracks them (step 2).
func (l *link) seen(raws [][]byte) {
	if !l.rl.tracking {
		return
	}
	for _, raw := range raws {
		if cs, err := protocol.Decode(raw); err == nil {
			l.rl.seen[cs.Device] = max(l.rl.seen[cs.Device], cs.Seq)
		}
	}
}

// startRelay starts step 3 when the feed has caught up with the welcome's
// head for the first time in the session.
func (l *link) startRelay() {
	if !l.rl.pending || !l.rl.tracking || l.rl.started {
		return
	}
	l.rl.started = true
	e := l.e
	heads, err := e.st.Heads()
	if err != nil {
		e.log.Error("listing the chains to relay", "err", err)
		return
	}
	type owed struct {
		dev   protocol.DeviceID
		after uint64
	}
	var list []owed
	for dev, h := range heads {
		if dev != e.dev && h.Seq > l.rl.seen[dev] {
			list = append(list, owed{dev, l.rl.seen[dev]})
		}
	}
	slices.SortFunc(list, func(a, b owed) int { return bytes.Compare(a.dev[:], b.dev[:]) })
	if len(list) == 0 {
		l.mu.Lock()
		l.rl.through = true
		l.mu.Unlock()
		l.relayFiles()
		return
	}
	e.log.Info("offering a restored county the change sets of other devices it lacks", "devices", len(list))
	l.relaying.Go(func() {
		// One change set is held back until the next is read, so the last
		// one goes out marked as the last: its answer, or an earlier one's
		// if it comes later, starts step 4 on the reader.
		var prev []byte
		send := func(raw []byte, last bool) bool {
			select {
			case l.window <- struct{}{}:
			case <-l.pump.Done():
				return false
			}
			l.mu.Lock()
			l.rl.sent++
			l.rl.out++
			l.rl.through = last
			l.mu.Unlock()
			return l.pump.Send(wsconn.Stream, &protocol.Frame{Type: protocol.FramePush, Body: raw})
		}
		for _, o := range list {
			after := o.after
			for {
				l.mu.Lock()
				skip := l.rl.skip[o.dev]
				l.mu.Unlock()
				if skip {
					break
				}
				sets, err := e.st.ChangeSets(o.dev, after, e.cfg.Window)
				if err != nil || len(sets) == 0 {
					break
				}
				for _, raw := range sets {
					if prev != nil && !send(prev, false) {
						return
					}
					prev = raw
					if cs, err := protocol.Decode(raw); err == nil {
						after = cs.Seq
					}
				}
				if len(sets) < e.cfg.Window {
					break
				}
			}
		}
		send(prev, true) // the list is not empty: prev holds the last
	})
}

// relayAnswered takes a receipt (code empty) or refusal of a change set
// of dev: if the link relayed one, it counts the answer and reports true.
// It runs on the reader goroutine.
func (l *link) relayAnswered(dev protocol.DeviceID, code protocol.Code) bool {
	if dev.IsZero() {
		return false
	}
	l.mu.Lock()
	if l.rl.out == 0 {
		l.mu.Unlock()
		return false
	}
	l.rl.out--
	if code != "" {
		if l.rl.skip == nil {
			l.rl.skip = map[protocol.DeviceID]bool{}
		}
		l.rl.skip[dev] = true
	}
	l.mu.Unlock()
	select {
	case <-l.window:
	default:
	}
	if code != "" {
		l.e.log.Info("the county does not take a relayed change set", "device", dev, "code", string(code))
	}
	l.relayCheck()
	return true
}

// relayCheck starts step 4 once every relayed change set is answered.
func (l *link) relayCheck() {
	l.mu.Lock()
	ready := l.rl.started && l.rl.through && l.rl.out == 0 && !l.rl.files
	l.mu.Unlock()
	if ready {
		l.relayFiles()
	}
}

// relayFiles starts step 4: the files this replica holds that the county
// has not confirmed go up after this device's own.
func (l *link) relayFiles() {
	if l.rl.files {
		return
	}
	l.rl.files = true
	l.ev.relay = newWalk()
	l.nextUpload()
}

// relayedFiles lists the files step 4 offers: held here, not confirmed by
// the county, added by other devices (this device's own go up as usual).
func (l *link) relayedFiles(after protocol.Hash) ([]store.Evidence, error) {
	return l.e.st.EvidenceHeld(after, evidencePage, l.e.dev)
}

// relayDone ends the relay: nothing more is owed to the county.
func (l *link) relayDone() {
	if err := l.e.st.RelayDone(); err != nil {
		l.e.log.Error("recording the relay done", "err", err)
		return
	}
	l.mu.Lock()
	l.rl.done = true
	l.mu.Unlock()
	l.e.log.Info("a restored county was offered everything this device holds of others")
}
