package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/domain/office"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// helloWithStatus opens a session as the enrolled key priv, sends a hello
// carrying status, waits for the welcome and closes: a device cut right
// after connecting, before it pushed anything.
func helloWithStatus(t *testing.T, base, fingerprint string, priv ed25519.PrivateKey, status *protocol.HelloStatus) {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: protocol.PinnedTLSConfig(fingerprint), HandshakeTimeout: 30 * time.Second}
	c, _, err := d.Dial("wss"+strings.TrimPrefix(base, "https")+"/sync", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read := func() *protocol.Frame {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, data, err := c.ReadMessage()
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
	hello := &protocol.Frame{Type: protocol.FrameHello, Version: protocol.ProtocolVersion, Device: protocol.DeviceIDFromKey(priv.Public().(ed25519.PublicKey)),
		Sig: protocol.SignChallenge(priv, ch.Nonce, fingerprint), Status: status}
	if err := c.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, hello)); err != nil {
		t.Fatal(err)
	}
	if w := read(); w.Type != protocol.FrameWelcome {
		t.Fatalf("after the hello: %s %s %s", w.Type, w.Code, w.Message)
	}
}

// enrolKey asks the server to enrol a new key and returns it.
func enrolKey(t *testing.T, base, fingerprint, o, name string) ed25519.PrivateKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	req := protocol.EnrolRequest{Key: pub, Office: office.Code(o), DeviceName: name, Staff: "李娜", Time: time.Now().UnixMilli()}
	tr := &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(fingerprint)}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Post(base+"/enrol", "application/octet-stream", bytes.NewReader(req.Sign(priv)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /enrol: %d %s", resp.StatusCode, body)
	}
	return priv
}

// TestDevicesLastSeenVersionGap: `devices` shows when each device was last
// seen, its software version and its pending gap (change sets it sealed
// that the county lacks, plus unsealed operations), and -json has them.
func TestDevicesLastSeenVersionGap(t *testing.T) {
	h := newHarness(t)
	id := h.init()
	base := "https://" + h.serve()
	admin := func(args ...string) []string {
		return append(args, "-dir", h.dir, "-url", base, "-admin", "zhangwei")
	}
	synced := enrolKey(t, base, id.Fingerprint, "410324101", "赤土店镇党政办-1")
	silent := enrolKey(t, base, id.Fingerprint, "410324101", "赤土店镇党政办-2")
	for _, k := range []ed25519.PrivateKey{synced, silent} {
		h.must(0, admin("approve", protocol.DeviceIDFromKey(k.Public().(ed25519.PublicKey)).String())...)
	}
	// Connected with three change sets sealed and two operations not,
	// then cut before pushing anything.
	helloWithStatus(t, base, id.Fingerprint, synced, &protocol.HelloStatus{Software: "0.1.0+build.9", Seq: 3, PendingOps: 2})

	today := time.Now().Format("2006-01-02")
	r := h.must(0, admin("devices")...)
	if now := time.Now().Format("2006-01-02"); now != today && strings.Contains(r.stdout, now) {
		today = now // midnight passed meanwhile
	}
	lines := strings.Split(r.stdout, "\n")
	for _, want := range []string{"最近同步 LAST SEEN", "版本 VERSION", "待上传 GAP"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("devices header lacks %q:\n%s", want, r.stdout)
		}
	}
	row := func(name string) string {
		for _, l := range lines {
			if strings.Contains(l, name) {
				return l
			}
		}
		t.Fatalf("no row for %s:\n%s", name, r.stdout)
		return ""
	}
	syncedRow := row("赤土店镇党政办-1")
	for _, want := range []string{"0.1.0+build.9", "3 +2 未封存 unsealed", today} {
		if !strings.Contains(syncedRow, want) {
			t.Errorf("the synced device's row lacks %q:\n%s", want, r.stdout)
		}
	}
	if silentRow := row("赤土店镇党政办-2"); strings.Contains(silentRow, "unsealed") || strings.Contains(silentRow, "0.1.0") {
		t.Errorf("a device that never connected shows a status:\n%s", r.stdout)
	}

	r = h.must(0, admin("devices", "-json")...)
	var devs []countyapi.DeviceInfo
	if err := json.Unmarshal([]byte(r.stdout), &devs); err != nil {
		t.Fatalf("devices -json: %v\n%s", err, r.stdout)
	}
	var raw []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for i, d := range devs {
		switch d.Name {
		case "赤土店镇党政办-1":
			if d.Version != "0.1.0+build.9" || d.DeviceSeq != 3 || d.PendingOps != 2 || d.Gap != 3 || !d.Unsealed || d.LastSeen.IsZero() || d.LastSeq != 0 {
				t.Errorf("devices -json, the synced device: %+v", d)
			}
			for _, k := range []string{"last_seen", "version", "device_seq", "pending_ops", "gap", "unsealed", "reported"} {
				if _, ok := raw[i][k]; !ok {
					t.Errorf("devices -json lacks %q: %v", k, raw[i])
				}
			}
		case "赤土店镇党政办-2":
			if d.Version != "" || !d.LastSeen.IsZero() || d.Gap != 0 || d.Unsealed {
				t.Errorf("devices -json, the silent device: %+v", d)
			}
		default:
			t.Errorf("unexpected device %+v", d)
		}
	}
}
