package vm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// TestSeenAgoAndGapMessages: the devices screen's "last seen" is relative
// to now, and its pending gap says change sets and unsealed operations, in
// both languages.
func TestSeenAgoAndGapMessages(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, cst)
	for _, c := range []struct {
		t      time.Time
		zh, en string
	}{
		{time.Time{}, "从未同步", "Never"},
		{now.Add(time.Minute), "刚刚", "Just now"}, // the clocks disagree
		{now.Add(-59 * time.Second), "刚刚", "Just now"},
		{now.Add(-25 * time.Minute), "25 分钟前", "25 min ago"},
		{now.Add(-5*time.Hour - 59*time.Minute), "5 小时前", "5 h ago"},
		{now.Add(-30 * time.Hour), "1 天前", "1 day ago"},
		{now.Add(-3*24*time.Hour - time.Hour), "3 天前", "3 days ago"},
		{now.Add(-400 * 24 * time.Hour), "400 天前", "400 days ago"},
	} {
		m := SeenAgo(c.t, now)
		checkMessage(t, m)
		if zh, en := render(m, "zh-Hans"), render(m, "en"); zh != c.zh || en != c.en {
			t.Errorf("SeenAgo(%v) = %q / %q, want %q / %q", now.Sub(c.t), zh, en, c.zh, c.en)
		}
	}
	for _, c := range []struct {
		gap, pending uint64
		zh, en       string
	}{
		{0, 0, "无", "None"},
		{2, 0, "2 个变更集", "Change sets: 2"},
		{0, 5, "5 项操作未封存", "Unsealed operations: 5"},
		{2, 5, "2 个变更集，5 项操作未封存", "Change sets: 2; unsealed operations: 5"},
	} {
		m := GapMessage(c.gap, c.pending)
		checkMessage(t, m)
		if zh, en := render(m, "zh-Hans"), render(m, "en"); zh != c.zh || en != c.en {
			t.Errorf("GapMessage(%d, %d) = %q / %q, want %q / %q", c.gap, c.pending, zh, en, c.zh, c.en)
		}
	}
}

func render(m Message, lang string) string {
	return m.Text(func(k string) string { return catalogues()[lang][k] })
}

// sayHello opens a session as se's device, says hello with status and
// closes after the welcome: a device cut right after connecting, before it
// pushed anything.
func (c *testCounty) sayHello(t *testing.T, se *store.Session, status *protocol.HelloStatus) {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: protocol.PinnedTLSConfig(c.base.Fingerprint), HandshakeTimeout: time.Minute}
	conn, _, err := d.Dial(c.base.SyncURL(), nil)
	must(t, err)
	defer conn.Close()
	read := func() *protocol.Frame {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		_, data, err := conn.ReadMessage()
		must(t, err)
		f, err := protocol.DecodeFrame(data)
		must(t, err)
		return f
	}
	ch := read()
	hello := &protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: se.Device().ID,
		Sig: se.SignChallenge(ch.Nonce, c.base.Fingerprint), Status: status}
	must(t, conn.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, hello)))
	if w := read(); w.Type != protocol.FrameWelcome {
		t.Fatalf("after the hello: %s %s %s", w.Type, w.Code, w.Message)
	}
}

// TestAdminDevicesLastSeenVersionGap: against a real county server, a
// device that synced with its version, then sealed one more change set and
// made one more operation, and connected without pushing, is listed with
// its version, when it was last seen (relative), the change sets received
// and its pending gap; a device that never connected says so.
func TestAdminDevicesLastSeenVersionGap(t *testing.T) {
	c := startTestCounty(t)
	ctx := context.Background()
	cl := c.client(testAdminPass)
	a, b := newTownship(t), newTownship(t)
	for _, d := range []*townshipDevice{a, b} {
		c.request(t, d.leader)
		_, err := cl.Approve(ctx, d.leader.Device().ID, countyapi.ApproveRequest{})
		must(t, err)
	}
	en, err := engine.EnrolmentStatus(ctx, c.base, a.leader)
	must(t, err)
	for _, title := range []string{"村务公开栏每月更新", "低保申请五日内受理"} {
		a.create(t, spec{title: title, start: calendar.NewDate(2026, 11, 2)})
		_, err := a.leader.Seal(0)
		must(t, err)
	}
	eng := engine.New(a.leader, engine.Config{URL: c.base.SyncURL(), Fingerprint: c.base.Fingerprint, CountyKey: en.CountyKey,
		Logger: quiet(), Version: "0.1.0+build.9"})
	must(t, eng.SyncOnce(ctx))

	d := NewDevices(cl)
	must(t, d.Load(ctx))
	row := func(se *store.Session) DeviceRow {
		for _, r := range d.Rows {
			if r.Device == se.Device().ID {
				return r
			}
		}
		t.Fatalf("%s not listed", se.Device().ID.Short())
		return DeviceRow{}
	}
	r := row(a.leader)
	if !r.Reported || r.Version != "0.1.0+build.9" || r.LastSeq != 2 || r.Gap != 0 || r.PendingOps != 0 ||
		r.GapText.Key != "adminui.devices.gap_none" || r.LastWhen.Key != "adminui.devices.seen_now" || r.LastSeen.IsZero() {
		t.Fatalf("after a full sync: %+v", r)
	}

	// One more change set sealed, one operation not; connected and cut
	// before pushing.
	a.create(t, spec{title: "老年人优待证当场办结", start: calendar.NewDate(2026, 11, 2)})
	_, err = a.leader.Seal(0)
	must(t, err)
	a.create(t, spec{title: "路灯报修三日内修复", start: calendar.NewDate(2026, 11, 2)})
	heads, err := a.s.Heads()
	must(t, err)
	pending, err := a.s.Pending()
	must(t, err)
	c.sayHello(t, a.leader, &protocol.HelloStatus{Software: "0.1.0+build.9", Seq: heads[a.leader.Device().ID].Seq, PendingOps: uint64(pending.PendingOps)})

	d.Now = func() time.Time { return time.Now().Add(3*24*time.Hour + time.Hour) }
	must(t, d.Load(ctx))
	r = row(a.leader)
	if r.Version != "0.1.0+build.9" || r.LastSeq != 2 || r.Gap != 1 || r.PendingOps != 1 {
		t.Fatalf("connected without pushing: %+v", r)
	}
	for m, want := range map[*Message]string{&r.LastWhen: "3 天前", &r.VersionText: "0.1.0+build.9",
		&r.GapText: "1 个变更集，1 项操作未封存"} {
		checkMessage(t, *m)
		if got := render(*m, "zh-Hans"); got != want {
			t.Errorf("%s renders %q, want %q", m.Key, got, want)
		}
	}
	if got := render(r.GapText, "en"); got != "Change sets: 1; unsealed operations: 1" {
		t.Errorf("gap in English: %q", got)
	}

	// Never connected.
	r = row(b.leader)
	if r.Reported || r.Version != "" || r.LastWhen.Key != "adminui.devices.seen_never" || r.VersionText.Key != "adminui.devices.not_reported" ||
		r.GapText.Key != "adminui.devices.not_reported" || !strings.Contains(render(r.LastWhen, "en"), "Never") {
		t.Fatalf("a device never connected: %+v", r)
	}
}
