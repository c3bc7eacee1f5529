package vm

import (
	"errors"
	"time"

	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// SyncView is the always-visible sync status bar.
type SyncView struct {
	Online  bool // connected to the county server
	Syncing bool // exchanging change sets now
	// Progress is 0..1 while syncing: change sets sent this run against
	// those sent plus those still waiting. Indeterminate is set while
	// syncing with nothing to send (only receiving), when a bar should
	// pulse instead.
	Progress      float64
	Indeterminate bool
	// Line is the status bar text, e.g. "离线，10:32 重试 · 待同步 3 个变更集
	// （12.5 KB） · 县级平台最后确认 11-25 10:32". Its arguments are the
	// Parts; show Line, or lay the Parts out separately.
	Line  Message
	Parts []Message
	// Error, when set, is a plain-language error with what to do
	// ("error.<code>"), e.g. the device was revoked by the county.
	Error *Message
	// Stopped: sync stopped on a refusal that retrying cannot fix; it
	// needs the county admin.
	Stopped bool
}

// SyncViewOf turns the engine's status into the status bar at time now
// (for "retry in N s" and the date format of the last receipt).
func SyncViewOf(s engine.Status, now time.Time) SyncView {
	var v SyncView
	var state Message
	switch s.State {
	case engine.StateConnecting:
		state = Msg("ui.sync.connecting")
	case engine.StateSyncing:
		v.Online, v.Syncing = true, true
		state = Msg("ui.sync.syncing")
		total := s.SentChangeSets + s.PendingChangeSets
		if total > 0 {
			v.Progress = float64(s.SentChangeSets) / float64(total)
		} else {
			v.Indeterminate = true
		}
	case engine.StateIdle:
		v.Online = true
		state = Msg("ui.sync.online")
	case engine.StateStopped:
		v.Stopped = true
		state = Msg("ui.sync.stopped")
		m := CodeMessage(s.Code)
		v.Error = &m
	default: // offline
		switch {
		case s.Code == protocol.CodeNotEnrolled:
			state = Msg("ui.sync.not_enrolled")
		case !s.Retry.IsZero() && s.Retry.After(now):
			if wait := s.Retry.Sub(now); wait < 2*time.Minute {
				state = Msg("ui.sync.offline_retry_in", int(wait.Round(time.Second)/time.Second))
			} else {
				state = Msg("ui.sync.offline_retry_at", s.Retry.In(now.Location()).Format("15:04"))
			}
		default:
			state = Msg("ui.sync.offline")
		}
		// A network failure is what "offline" says already; a refusal by
		// the server is worth explaining.
		if s.Code != "" && s.Code != protocol.CodeInternal && s.Code != protocol.CodeNotEnrolled && s.Code != protocol.CodeReplay {
			m := CodeMessage(s.Code)
			v.Error = &m
		}
	}

	var pending Message
	switch {
	case s.PendingChangeSets > 0 && s.PendingOps > 0:
		pending = Msg("ui.sync.pending_both", s.PendingChangeSets, FormatBytes(s.PendingBytes), s.PendingOps)
	case s.PendingChangeSets > 0:
		pending = Msg("ui.sync.pending", s.PendingChangeSets, FormatBytes(s.PendingBytes))
	case s.PendingOps > 0:
		pending = Msg("ui.sync.pending_ops", s.PendingOps)
	default:
		pending = Msg("ui.sync.all_sent")
	}

	var receipt Message
	if s.LastReceiptTime.IsZero() {
		receipt = Msg("ui.sync.no_receipt")
	} else {
		receipt = Msg("ui.sync.last_receipt", shortTime(s.LastReceiptTime, now))
	}
	if !s.LastSync.IsZero() {
		// When and how the last sync happened: a session or a return
		// file brought from the county on a USB stick.
		receipt = lastSyncMessage(s, now, receipt)
	}
	v.Parts = []Message{state, pending, receipt}
	v.Line = Msg("ui.sync.line", state, pending, receipt)
	return v
}

// InitialStatus is the status bar's status before the engine reports (or
// when there is no engine: a device that works offline until it is
// enrolled): offline, what waits in the store, and the last receipt kept.
// Its Code is protocol.CodeNotEnrolled when the device has not been
// approved by the county.
func InitialStatus(s *store.Store) (engine.Status, error) {
	st := engine.Status{State: engine.StateOffline}
	c, err := s.Pending()
	if err != nil {
		return st, err
	}
	st.PendingOps, st.PendingChangeSets, st.PendingBytes = c.PendingOps, c.OutboxChangeSets, c.OutboxBytes
	set, ok, err := s.SyncSettings()
	if err != nil {
		return st, err
	}
	if !ok || !set.Enrolled {
		st.Code = protocol.CodeNotEnrolled
	}
	if l, ok, err := s.LastSyncState(); err != nil {
		return st, err
	} else if ok {
		st.LastSync, st.LastSyncVia = l.Time, l.Via
	}
	seq, raw, err := s.LastReceipt()
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return st, err
	default:
		st.LastReceiptSeq, st.LastReceiptTime = seq, receiptTime(s, raw)
	}
	return st, nil
}

// MergeStatus completes a status from the engine with what InitialStatus
// read from the store: the engine reports only receipts and syncs of its
// own run, so until the first one the last kept in the store is shown.
func MergeStatus(initial, s engine.Status) engine.Status {
	if s.LastReceiptTime.IsZero() {
		s.LastReceiptSeq, s.LastReceiptTime = initial.LastReceiptSeq, initial.LastReceiptTime
	}
	if s.LastSync.IsZero() {
		s.LastSync, s.LastSyncVia = initial.LastSync, initial.LastSyncVia
	}
	return s
}

// SyncChange says what one report of the sync engine changed for the
// screens, beyond the status bar.
type SyncChange struct {
	// Arrived: work of other devices was applied; lists, details and the
	// dashboard are to be read again.
	Arrived bool
	// Confirmed: the county acknowledged more of this device's change
	// sets; the "not yet confirmed" marks (list badges, the detail's
	// confirmation line, the 未经县级确认 filter) are to be read again.
	Confirmed bool
}

// SyncWatch follows the engine's reports and tells the screens when to
// re-read the store: after work arrived from the county and after each new
// receipt. Without it the marks of what awaits the county's confirmation
// stay as they were at sign-in while the status bar says everything is
// confirmed. Start it from InitialStatus; for one goroutine (the UI's).
type SyncWatch struct {
	received   int
	receiptSeq uint64
}

// NewSyncWatch starts watching from what the store knew before the engine
// reported (InitialStatus).
func NewSyncWatch(initial engine.Status) *SyncWatch {
	return &SyncWatch{received: initial.ReceivedChangeSets, receiptSeq: initial.LastReceiptSeq}
}

// Observe takes the engine's next report and says what it changed.
func (w *SyncWatch) Observe(s engine.Status) SyncChange {
	var c SyncChange
	if s.ReceivedChangeSets != w.received {
		w.received = s.ReceivedChangeSets
		c.Arrived = true
	}
	if s.LastReceiptSeq != w.receiptSeq {
		w.receiptSeq = s.LastReceiptSeq
		c.Confirmed = true
	}
	return c
}

// SyncNowNote is what the status bar says at once when the user presses
// 立即同步 (the engine reports only when something changes, so without it
// the press would look ignored): reconnecting now when offline, sending N
// items when some wait, or up to date (checked at now) when connected with
// nothing to send. A stopped engine gives the zero Message: the button is
// disabled then.
func SyncNowNote(s engine.Status, now time.Time) Message {
	switch {
	case s.State == engine.StateStopped:
		return Message{}
	case s.State == engine.StateOffline || s.State == engine.StateConnecting:
		return Msg("ui.sync.now_connecting")
	case s.PendingOps+s.PendingChangeSets > 0:
		return Msg("ui.sync.now_sending", s.PendingOps+s.PendingChangeSets)
	}
	return Msg("ui.sync.now_up_to_date", now.Format("15:04:05"))
}
