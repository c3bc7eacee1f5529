package vm

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"jiannuo/assets"
	"jiannuo/domain"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

func TestSyncViewOf(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 40, 0, 0, cst)
	receipt := time.Date(2026, 11, 25, 10, 32, 5, 0, cst)
	base := engine.Status{PendingChangeSets: 3, PendingBytes: 12800, LastReceiptSeq: 41, LastReceiptTime: receipt}
	zh := assets.NewTranslator(assets.LangZhHans)
	text := func(m Message) string { return m.Text(func(k string) string { return zh.T(k) }) }

	for _, tc := range []struct {
		name    string
		edit    func(s *engine.Status)
		online  bool
		syncing bool
		stopped bool
		state   string // key of the first part
		err     string // key of Error, "" for none
	}{
		{"offline", func(s *engine.Status) { s.State = engine.StateOffline }, false, false, false, "ui.sync.offline", ""},
		{"offline, retry soon", func(s *engine.Status) {
			s.State, s.Retry, s.Code = engine.StateOffline, now.Add(30*time.Second), protocol.CodeInternal
		}, false, false, false, "ui.sync.offline_retry_in", ""},
		{"offline, retry later", func(s *engine.Status) { s.State, s.Retry = engine.StateOffline, now.Add(10*time.Minute) },
			false, false, false, "ui.sync.offline_retry_at", ""},
		{"offline after a refusal", func(s *engine.Status) {
			s.State, s.Retry, s.Code = engine.StateOffline, now.Add(time.Second), protocol.CodeSequenceGap
		}, false, false, false, "ui.sync.offline_retry_in", "error.sequence_gap"},
		{"not enrolled", func(s *engine.Status) { s.State, s.Code = engine.StateOffline, protocol.CodeNotEnrolled },
			false, false, false, "ui.sync.not_enrolled", ""},
		{"connecting", func(s *engine.Status) { s.State = engine.StateConnecting }, false, false, false, "ui.sync.connecting", ""},
		{"syncing", func(s *engine.Status) { s.State, s.SentChangeSets = engine.StateSyncing, 9 }, true, true, false, "ui.sync.syncing", ""},
		{"idle", func(s *engine.Status) { s.State, s.PendingChangeSets, s.PendingBytes = engine.StateIdle, 0, 0 }, true, false, false, "ui.sync.online", ""},
		{"revoked", func(s *engine.Status) {
			fe := &engine.FatalError{Code: protocol.CodeRevokedDevice, Message: "revoked by 县信用办"}
			s.State, s.Code, s.Err = engine.StateStopped, fe.Code, fe.Message
		}, false, false, true, "ui.sync.stopped", "error.revoked_device"},
		{"fork", func(s *engine.Status) { s.State, s.Code = engine.StateStopped, protocol.CodeFork }, false, false, true, "ui.sync.stopped", "error.fork"},
		{"stopped without a code", func(s *engine.Status) { s.State = engine.StateStopped }, false, false, true, "ui.sync.stopped", "error.unknown"},
	} {
		s := base
		tc.edit(&s)
		v := SyncViewOf(s, now)
		if v.Online != tc.online || v.Syncing != tc.syncing || v.Stopped != tc.stopped {
			t.Errorf("%s: online %v syncing %v stopped %v", tc.name, v.Online, v.Syncing, v.Stopped)
		}
		if len(v.Parts) != 3 || v.Parts[0].Key != tc.state {
			t.Errorf("%s: parts %v", tc.name, v.Parts)
		}
		switch {
		case tc.err == "" && v.Error != nil:
			t.Errorf("%s: error %v", tc.name, *v.Error)
		case tc.err != "" && (v.Error == nil || v.Error.Key != tc.err):
			t.Errorf("%s: error %v, want %s", tc.name, v.Error, tc.err)
		case v.Error != nil:
			checkMessage(t, *v.Error)
		}
		checkMessage(t, v.Line)
	}

	s := base
	s.State, s.Retry = engine.StateOffline, now.Add(30*time.Second)
	if got := text(SyncViewOf(s, now).Line); got != "离线，30 秒后重试 · 待同步 3 个变更集（12.5 KB） · 县级平台最后确认 11-25 10:32" {
		t.Errorf("line %q", got)
	}
	s.Retry = now.Add(10 * time.Minute)
	if got := text(SyncViewOf(s, now).Parts[0]); got != "离线，10:50 重试" {
		t.Errorf("retry at: %q", got)
	}
	s = base
	s.State, s.Code = engine.StateStopped, protocol.CodeRevokedDevice
	if v := SyncViewOf(s, now); text(*v.Error) != "本终端已被县信用办注销，请联系县信用办管理员。" {
		t.Errorf("revoked: %q", text(*v.Error))
	}

	// Progress: change sets sent this run against those still waiting.
	s = base
	s.State, s.SentChangeSets, s.PendingChangeSets = engine.StateSyncing, 9, 3
	if v := SyncViewOf(s, now); v.Progress != 0.75 || v.Indeterminate {
		t.Errorf("progress %v", v.Progress)
	}
	s.SentChangeSets, s.PendingChangeSets = 0, 0
	if v := SyncViewOf(s, now); v.Progress != 0 || !v.Indeterminate {
		t.Errorf("only receiving: %v %v", v.Progress, v.Indeterminate)
	}

	// Pending parts and the last receipt.
	for _, tc := range []struct {
		sets, ops int
		want      string
	}{{3, 0, "ui.sync.pending"}, {0, 5, "ui.sync.pending_ops"}, {3, 5, "ui.sync.pending_both"}, {0, 0, "ui.sync.all_sent"}} {
		s := base
		s.PendingChangeSets, s.PendingOps = tc.sets, tc.ops
		if v := SyncViewOf(s, now); v.Parts[1].Key != tc.want {
			t.Errorf("pending %d/%d: %v", tc.sets, tc.ops, v.Parts[1])
		}
	}
	s = base
	s.LastReceiptTime = time.Time{}
	if v := SyncViewOf(s, now); v.Parts[2].Key != "ui.sync.no_receipt" {
		t.Errorf("no receipt: %v", v.Parts[2])
	}
	s.LastReceiptTime = time.Date(2025, 12, 30, 16, 5, 0, 0, cst)
	if v := SyncViewOf(s, now); v.Parts[2].Args[0] != "2025-12-30 16:05" {
		t.Errorf("last year's receipt: %v", v.Parts[2])
	}
}

func TestInitialStatus(t *testing.T) {
	d := newTownship(t)
	d.create(t, spec{title: "离线录入", start: date(2026, 11, 2), deadline: domain.WorkdaysDeadline(5), status: domain.StatusPublished})
	st, err := InitialStatus(d.s)
	must(t, err)
	// Four: the create and the publication, and the fixture's account
	// changes (wangfang added, the leader announced with it).
	if st.State != engine.StateOffline || st.Code != protocol.CodeNotEnrolled || st.PendingOps != 4 || !st.LastReceiptTime.IsZero() {
		t.Fatalf("fresh device: %+v", st)
	}
	if v := SyncViewOf(st, time.Now()); v.Parts[0].Key != "ui.sync.not_enrolled" || v.Error != nil {
		t.Fatalf("fresh device view: %+v", v)
	}

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	must(t, d.s.SetSyncSettings(store.SyncSettings{BaseURL: "https://127.0.0.1:8443", County: countyCode, CountyKey: pub, Enrolled: true}))
	n, err := d.leader.Seal(0)
	must(t, err)
	at := time.Date(2026, 11, 25, 10, 32, 0, 0, cst)
	rc := (&protocol.Receipt{County: countyCode, Device: d.leader.Device().ID, Seq: 1, Time: at.UnixMilli()}).Sign(priv)
	must(t, d.s.Acknowledge(1, rc))
	st, err = InitialStatus(d.s)
	must(t, err)
	if st.Code != "" || st.PendingOps != 0 || st.PendingChangeSets != n-1 || st.LastReceiptSeq != 1 || !st.LastReceiptTime.Equal(at) {
		t.Fatalf("enrolled device: %+v", st)
	}
	// The engine's first status knows no receipt yet: the store's is kept.
	merged := MergeStatus(st, engine.Status{State: engine.StateConnecting})
	if !merged.LastReceiptTime.Equal(at) || merged.State != engine.StateConnecting {
		t.Fatalf("merged %+v", merged)
	}
	later := at.Add(time.Hour)
	if merged := MergeStatus(st, engine.Status{LastReceiptSeq: 2, LastReceiptTime: later}); !merged.LastReceiptTime.Equal(later) {
		t.Fatalf("newer receipt replaced: %+v", merged)
	}
}

// TestSyncWatch: a receipt (a higher LastReceiptSeq) asks for the
// confirmation marks to be read again, work from the county for
// everything; a report that changes neither asks for nothing.
func TestSyncWatch(t *testing.T) {
	w := NewSyncWatch(engine.Status{LastReceiptSeq: 3})
	if c := w.Observe(engine.Status{State: engine.StateConnecting, LastReceiptSeq: 3}); c != (SyncChange{}) {
		t.Errorf("connecting: %+v", c)
	}
	if c := w.Observe(engine.Status{State: engine.StateSyncing, LastReceiptSeq: 4}); !c.Confirmed || c.Arrived {
		t.Errorf("a receipt: %+v", c)
	}
	if c := w.Observe(engine.Status{State: engine.StateIdle, LastReceiptSeq: 4}); c != (SyncChange{}) {
		t.Errorf("idle after it: %+v", c)
	}
	if c := w.Observe(engine.Status{State: engine.StateIdle, LastReceiptSeq: 4, ReceivedChangeSets: 2}); !c.Arrived || c.Confirmed {
		t.Errorf("work arrived: %+v", c)
	}
}

// TestSyncNowNote: pressing 立即同步 always says something.
func TestSyncNowNote(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 15, 30, 0, cst)
	for _, tc := range []struct {
		s    engine.Status
		want string
	}{
		{engine.Status{State: engine.StateOffline}, "ui.sync.now_connecting"},
		{engine.Status{State: engine.StateIdle, PendingOps: 2, PendingChangeSets: 1}, "ui.sync.now_sending"},
		{engine.Status{State: engine.StateIdle}, "ui.sync.now_up_to_date"},
	} {
		m := SyncNowNote(tc.s, now)
		if m.Key != tc.want {
			t.Errorf("%+v: %v, want %s", tc.s, m, tc.want)
		}
		checkMessage(t, m)
	}
	if m := SyncNowNote(engine.Status{State: engine.StateIdle}, now); m.Args[0] != "09:15:30" {
		t.Errorf("up to date at %v", m.Args)
	}
	if m := SyncNowNote(engine.Status{State: engine.StateStopped}, now); !m.IsZero() {
		t.Errorf("stopped: %v", m)
	}
}
