package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/gorilla/websocket"

	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// helloFrom opens a session with the county at base as se's device, says
// hello with status and closes after the welcome, before pushing anything.
func helloFrom(t *testing.T, base engine.Server, se *store.Session, status *protocol.HelloStatus) {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: protocol.PinnedTLSConfig(base.Fingerprint), HandshakeTimeout: time.Minute}
	conn, _, err := d.Dial(base.SyncURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	read := func() *protocol.Frame {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		f, err := protocol.DecodeFrame(data)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	ch := read()
	hello := &protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: se.Device().ID,
		Sig: se.SignChallenge(ch.Nonce, base.Fingerprint), Status: status}
	if err := conn.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, hello)); err != nil {
		t.Fatal(err)
	}
	if w := read(); w.Type != protocol.FrameWelcome {
		t.Fatalf("after the hello: %s %s %s", w.Type, w.Code, w.Message)
	}
}

// TestAdminDevicesScreenColumns: against a real county server, the 终端
// tab has the columns last seen (relative), version and pending gap, and
// shows in them what each device reported: one that connected with two
// change sets and an operation the county lacks, three days before the
// screen's clock; one that never connected.
func TestAdminDevicesScreenColumns(t *testing.T) {
	srv, base := startTestCounty(t)

	seen, never := newTownshipSession(t, "a"), newTownshipSession(t, "b")
	for _, se := range []*store.Session{seen, never} {
		if _, err := engine.RequestEnrolment(context.Background(), base, se); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Approve(se.Device().ID, countyapi.ApproveRequest{}, adminTestName); err != nil {
			t.Fatal(err)
		}
	}
	helloFrom(t, base, seen, &protocol.HelloStatus{Software: "0.1.0+build.9", Seq: 2, PendingOps: 1})

	u := newAdminTestUI(t, &store.SyncSettings{BaseURL: base.BaseURL, Fingerprint: base.Fingerprint, County: adminTestCounty})
	// The screen's clock: three days and an hour after the device's session.
	u.bg.now = func() time.Time { return time.Now().Add(3*24*time.Hour + time.Hour) }
	adm := u.main.admin
	f := adm.logins[1] // the devices tab's prompt
	test.Type(f.pass, adminTestPass)
	test.Tap(f.button)
	if adm.client == nil {
		t.Fatalf("sign-in refused: %q", f.errLine.Text)
	}
	u.main.tabs.Select(adm.tabDevices)
	if len(adm.devices.Rows) != 2 || adm.devicesGrid == nil {
		t.Fatalf("devices screen: %+v", adm.devices.Rows)
	}
	header := map[string]string{"last_seen": "最近同步", "version": "版本", "gap": "待上传", "received": "已接收"}
	for col, want := range header {
		if got := adm.devicesGrid.Objects[slices.Index(deviceColumns, col)].(*widget.Label).Text; got != want {
			t.Errorf("column %s is headed %q, want %q", col, got, want)
		}
	}
	rowOf := map[protocol.DeviceID]int{}
	for i, r := range adm.devices.Rows {
		rowOf[r.Device] = i
	}
	for _, c := range []struct {
		se   *store.Session
		cols map[string]string
	}{
		{seen, map[string]string{"last_seen": "3 天前", "version": "0.1.0+build.9", "received": "至第 0 号",
			"gap": "2 个变更集，1 项操作未封存", "office": "赤土店镇"}},
		{never, map[string]string{"last_seen": "从未同步", "version": "未上报", "gap": "未上报", "received": "至第 0 号"}},
	} {
		for col, want := range c.cols {
			if got := adm.deviceCell(rowOf[c.se.Device().ID], col); got != want {
				t.Errorf("device %s, column %s: %q, want %q", c.se.Device().ID.Short(), col, got, want)
			}
		}
	}
}
