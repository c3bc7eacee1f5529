package county

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain/office"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// adminFixture is a county server for 栾川县 (410324) serving TLS on
// 127.0.0.1, its real bbolt file in a temp dir, and a client that pins its
// certificate the way devices and the server command do.
type adminFixture struct {
	t      *testing.T
	srv    *Server
	base   string // https://127.0.0.1:port
	client *http.Client
}

func startAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	dir := t.TempDir()
	id, err := Init(dir, testInitConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(dir)
	cfg.KDF = auth.TestParams()
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	tr := &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(id.Fingerprint)}
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		tr.CloseIdleConnections()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &adminFixture{t: t, srv: srv, base: "https://" + ln.Addr().String(),
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// do sends a request (body marshalled as JSON unless it is []byte) with
// the admin's basic auth when user is not empty, and returns the status
// and the body.
func (f *adminFixture) do(method, path, user, pass string, body any) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(path, "/healthz") {
		f.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return resp.StatusCode, out
}

// admin calls the admin API as the credential made by Init.
func (f *adminFixture) admin(method, path string, body any) (int, []byte) {
	f.t.Helper()
	return f.do(method, path, "zhangwei", testAdminPassword, body)
}

// wantError checks a refusal's status and stable code.
func (f *adminFixture) wantError(status int, body []byte, wantStatus int, wantCode protocol.Code) {
	f.t.Helper()
	if status != wantStatus {
		f.t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	var e struct {
		Code    protocol.Code `json:"code"`
		Message string        `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		f.t.Fatalf("error body %s: %v", body, err)
	}
	if e.Code != wantCode || e.Message == "" {
		f.t.Fatalf("error %+v, want code %q and a message", e, wantCode)
	}
}

func (f *adminFixture) status(dev protocol.DeviceID) countyapi.EnrolStatus {
	f.t.Helper()
	code, body := f.do("GET", "/enrol/"+dev.String(), "", "", nil)
	if code != http.StatusOK {
		f.t.Fatalf("GET /enrol/%s: %d %s", dev, code, body)
	}
	var st countyapi.EnrolStatus
	if err := json.Unmarshal(body, &st); err != nil {
		f.t.Fatal(err)
	}
	return st
}

// testDevice is a township device's key and its signed enrolment request.
type testDevice struct {
	id   protocol.DeviceID
	key  ed25519.PrivateKey
	req  []byte
	name string
}

func newTestDevice(t *testing.T, o office.Code, name, staff string) testDevice {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r := protocol.EnrolRequest{Key: pub, Office: o, DeviceName: name, Staff: staff, Time: time.Now().UnixMilli()}
	return testDevice{id: protocol.DeviceIDFromKey(pub), key: priv, req: r.Sign(priv), name: name}
}

// enrol posts the device's request and expects it pending.
func (f *adminFixture) enrol(d testDevice) {
	f.t.Helper()
	code, body := f.do("POST", "/enrol", "", "", d.req)
	if code != http.StatusAccepted {
		f.t.Fatalf("POST /enrol: %d %s", code, body)
	}
	var st countyapi.EnrolStatus
	if err := json.Unmarshal(body, &st); err != nil {
		f.t.Fatal(err)
	}
	if st.Status != countyapi.EnrolPending || st.Certificate != nil {
		f.t.Fatalf("after POST /enrol: %+v, want pending without certificate", st)
	}
}

func (f *adminFixture) incidents() []countyapi.Incident {
	f.t.Helper()
	code, body := f.admin("GET", "/admin/incidents", nil)
	if code != http.StatusOK {
		f.t.Fatalf("GET /admin/incidents: %d %s", code, body)
	}
	var in []countyapi.Incident
	if err := json.Unmarshal(body, &in); err != nil {
		f.t.Fatal(err)
	}
	return in
}

func hasIncident(in []countyapi.Incident, code protocol.Code, contains string) bool {
	return slices.ContainsFunc(in, func(i countyapi.Incident) bool { return i.Code == code && strings.Contains(i.Message, contains) })
}

const chitudian = office.Code("410324101") // 栾川县赤土店镇

func TestEnrolApproveRevoke(t *testing.T) {
	f := startAdminFixture(t)
	d := newTestDevice(t, chitudian, "赤土店镇党政办-1", "李娜")
	f.enrol(d)

	st := f.status(d.id)
	if st.Status != countyapi.EnrolPending || st.County != "410324" || len(st.CountyKey) != ed25519.PublicKeySize {
		t.Fatalf("GET /enrol: %+v", st)
	}
	// Asking again changes nothing.
	f.enrol(d)

	// The admin sees the request with what they check over the phone.
	code, body := f.admin("GET", "/admin/enrolments", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /admin/enrolments: %d %s", code, body)
	}
	var pending []countyapi.Enrolment
	if err := json.Unmarshal(body, &pending); err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Device != d.id || pending[0].Office != chitudian ||
		pending[0].Staff != "李娜" || pending[0].DeviceName != d.name || pending[0].Status != countyapi.EnrolPending {
		t.Fatalf("pending enrolments %+v", pending)
	}
	if pending[0].Request != nil {
		t.Error("the list carries the raw signed request")
	}

	code, body = f.admin("POST", "/admin/enrolments/"+d.id.String()+"/approve", countyapi.ApproveRequest{})
	if code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}
	var approved struct {
		Status      countyapi.EnrolmentStatus `json:"status"`
		Certificate string                    `json:"certificate"`
	}
	if err := json.Unmarshal(body, &approved); err != nil {
		t.Fatal(err)
	}
	if approved.Status != countyapi.EnrolApproved {
		t.Fatalf("approve answered %+v", approved)
	}

	// The device polls and verifies its certificate with the county key.
	st = f.status(d.id)
	if st.Status != countyapi.EnrolApproved {
		t.Fatalf("after approve: %+v", st)
	}
	cert, err := protocol.OpenCertificate(st.Certificate, st.CountyKey)
	if err != nil {
		t.Fatalf("OpenCertificate: %v", err)
	}
	if cert.Device != d.id || cert.Office != chitudian || cert.County != "410324" || cert.Admin || cert.Name != d.name {
		t.Fatalf("certificate %+v", cert)
	}
	if !cert.Key.Equal(d.key.Public()) {
		t.Fatal("certificate names another key")
	}
	if raw, _ := base64.StdEncoding.DecodeString(approved.Certificate); !bytes.Equal(raw, st.Certificate) {
		t.Error("approve and GET /enrol give different certificates")
	}
	if !f.srv.Identity().Key.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(st.CountyKey)) {
		t.Error("GET /enrol gives another county key")
	}
	// Approving twice is refused: nothing is pending.
	code, body = f.admin("POST", "/admin/enrolments/"+d.id.String()+"/approve", nil)
	f.wantError(code, body, http.StatusNotFound, protocol.CodeNotFound)

	// The device list shows it, not revoked.
	devs := f.devices()
	if len(devs) != 1 || devs[0].ID != d.id || devs[0].Office != chitudian || devs[0].Revoked || devs[0].Online {
		t.Fatalf("devices %+v", devs)
	}

	// Revocation needs a reason.
	code, body = f.admin("POST", "/admin/devices/"+d.id.String()+"/revoke", countyapi.ReasonRequest{Reason: "  "})
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeInvalidOperation)
	if rec, err := f.srv.Store().DeviceRecord(d.id); err != nil || rec.Revoked {
		t.Fatalf("after a refused revocation: %+v %v", rec, err)
	}

	code, body = f.admin("POST", "/admin/devices/"+d.id.String()+"/revoke", countyapi.ReasonRequest{Reason: "笔记本丢失"})
	if code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, body)
	}
	rec, err := f.srv.Store().DeviceRecord(d.id)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Revoked || rec.Reason != "笔记本丢失" {
		t.Fatalf("device record after revoke: %+v", rec)
	}
	if st := f.status(d.id); st.Status != countyapi.EnrolRevoked || st.Reason != "笔记本丢失" {
		t.Fatalf("GET /enrol after revoke: %+v", st)
	}
	if devs := f.devices(); len(devs) != 1 || !devs[0].Revoked {
		t.Fatalf("devices after revoke %+v", devs)
	}
	// The pending list is empty now; -all still shows the device.
	code, body = f.admin("GET", "/admin/enrolments", nil)
	if code != http.StatusOK || strings.TrimSpace(string(body)) != "null" && strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("pending after decisions: %d %s", code, body)
	}
	code, body = f.admin("GET", "/admin/enrolments?all=1", nil)
	if code != http.StatusOK || !strings.Contains(string(body), d.id.String()) {
		t.Fatalf("all enrolments: %d %s", code, body)
	}

	// Revoking an unknown device is a not-found refusal.
	other := newTestDevice(t, chitudian, "x", "y")
	code, body = f.admin("POST", "/admin/devices/"+other.id.String()+"/revoke", countyapi.ReasonRequest{Reason: "test"})
	f.wantError(code, body, http.StatusNotFound, protocol.CodeNotFound)
}

func (f *adminFixture) devices() []countyapi.DeviceInfo {
	f.t.Helper()
	code, body := f.admin("GET", "/admin/devices", nil)
	if code != http.StatusOK {
		f.t.Fatalf("GET /admin/devices: %d %s", code, body)
	}
	var out []countyapi.DeviceInfo
	if err := json.Unmarshal(body, &out); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func TestApproveScope(t *testing.T) {
	f := startAdminFixture(t)
	d := newTestDevice(t, chitudian, "赤土店镇-2", "王强")
	f.enrol(d)
	path := "/admin/enrolments/" + d.id.String() + "/approve"

	// Another county's township, and an admin device for a township.
	code, body := f.admin("POST", path, countyapi.ApproveRequest{Office: "410325101"})
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeOutOfScope)
	code, body = f.admin("POST", path, countyapi.ApproveRequest{Admin: true})
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeOutOfScope)
	// Unknown fields are refused rather than ignored.
	code, body = f.admin("POST", path, []byte(`{"offfice":"410324"}`))
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeMalformed)
	if st := f.status(d.id); st.Status != countyapi.EnrolPending {
		t.Fatalf("after refused approvals: %+v", st)
	}

	// The admin may bind it to the county itself as an admin device.
	code, body = f.admin("POST", path, countyapi.ApproveRequest{Office: "410324", Admin: true})
	if code != http.StatusOK {
		t.Fatalf("approve as admin device: %d %s", code, body)
	}
	st := f.status(d.id)
	cert, err := protocol.OpenCertificate(st.Certificate, st.CountyKey)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Admin || cert.Office != "410324" {
		t.Fatalf("certificate %+v", cert)
	}
	rec, err := f.srv.Store().DeviceRecord(d.id)
	if err != nil || !rec.Admin || rec.Office != "410324" {
		t.Fatalf("device record %+v %v", rec, err)
	}
}

func TestRejectNeedsReason(t *testing.T) {
	f := startAdminFixture(t)
	d := newTestDevice(t, chitudian, "赤土店镇-3", "赵敏")
	f.enrol(d)
	path := "/admin/enrolments/" + d.id.String() + "/reject"

	code, body := f.admin("POST", path, nil)
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeInvalidOperation)
	code, body = f.admin("POST", path, countyapi.ReasonRequest{Reason: ""})
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeInvalidOperation)
	if st := f.status(d.id); st.Status != countyapi.EnrolPending {
		t.Fatalf("after refused rejections: %+v", st)
	}

	code, body = f.admin("POST", path, countyapi.ReasonRequest{Reason: "电话核对设备号不一致"})
	if code != http.StatusOK {
		t.Fatalf("reject: %d %s", code, body)
	}
	st := f.status(d.id)
	if st.Status != countyapi.EnrolRejected || st.Reason != "电话核对设备号不一致" || st.Certificate != nil {
		t.Fatalf("after reject: %+v", st)
	}
	if _, err := f.srv.Store().DeviceRecord(d.id); err == nil {
		t.Fatal("a rejected device has a device record")
	}
	// A rejected device may ask again; the new request is pending.
	f.enrol(d)
}

func TestAdminWrongPassword(t *testing.T) {
	f := startAdminFixture(t)
	for _, tc := range []struct{ user, pass string }{
		{"zhangwei", "wrong password 123"},
		{"nobody", testAdminPassword},
	} {
		code, body := f.do("GET", "/admin/devices", tc.user, tc.pass, nil)
		f.wantError(code, body, http.StatusUnauthorized, protocol.CodeNotAuthorized)
	}
	// No credential at all: the same refusal, with a challenge.
	req, _ := http.NewRequest("GET", f.base+"/admin/enrolments", nil)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f.wantError(resp.StatusCode, body, http.StatusUnauthorized, protocol.CodeNotAuthorized)
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}

	in := f.incidents()
	if !hasIncident(in, protocol.CodeNotAuthorized, "zhangwei") || !hasIncident(in, protocol.CodeNotAuthorized, "nobody") {
		t.Fatalf("incidents %+v: want not_authorized for both names", in)
	}
	for _, i := range in {
		if strings.Contains(i.Message, "wrong password 123") || strings.Contains(i.Message, testAdminPassword) {
			t.Fatalf("incident %+v records a password", i)
		}
		if i.Remote == "" || i.Time.IsZero() {
			t.Errorf("incident %+v without remote address or time", i)
		}
	}
	// Refused admin calls change nothing.
	d := newTestDevice(t, chitudian, "赤土店镇-4", "孙丽")
	f.enrol(d)
	code, body := f.do("POST", "/admin/enrolments/"+d.id.String()+"/approve", "zhangwei", "guess guess", nil)
	f.wantError(code, body, http.StatusUnauthorized, protocol.CodeNotAuthorized)
	if st := f.status(d.id); st.Status != countyapi.EnrolPending {
		t.Fatalf("approved with a wrong password: %+v", st)
	}
}

func TestEnrolRefusals(t *testing.T) {
	f := startAdminFixture(t)

	// An office in another county (嵩县 410325).
	out := newTestDevice(t, "410325101", "嵩县城关镇-1", "周杰")
	code, body := f.do("POST", "/enrol", "", "", out.req)
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeOutOfScope)

	// A forged request: one signature bit flipped.
	d := newTestDevice(t, chitudian, "赤土店镇-5", "吴芳")
	forged := bytes.Clone(d.req)
	forged[len(forged)-1] ^= 0x01
	code, body = f.do("POST", "/enrol", "", "", forged)
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeBadSignature)

	// A request signed by another key than the one it carries.
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	r := protocol.EnrolRequest{Key: d.key.Public().(ed25519.PublicKey), Office: chitudian, DeviceName: "x", Staff: "y", Time: 1}
	code, body = f.do("POST", "/enrol", "", "", r.Sign(otherKey))
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeBadSignature)

	// Not a request at all.
	code, body = f.do("POST", "/enrol", "", "", []byte(`{"office":"410324101"}`))
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeMalformed)

	// None of them is stored.
	for _, dev := range []protocol.DeviceID{out.id, d.id} {
		code, body := f.do("GET", "/enrol/"+dev.String(), "", "", nil)
		f.wantError(code, body, http.StatusNotFound, protocol.CodeUnknownDevice)
	}
	code, body = f.admin("GET", "/admin/enrolments?all=1", nil)
	if code != http.StatusOK || strings.Contains(string(body), "device") {
		t.Fatalf("enrolments after refusals: %d %s", code, body)
	}

	// A malformed device ID in the path (a check character wrong).
	bad := []byte(d.id.String())
	bad[0] = map[bool]byte{true: 'B', false: 'A'}[bad[0] == 'A']
	code, body = f.do("GET", "/enrol/"+string(bad), "", "", nil)
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeMalformed)

	// Each refusal is an incident for the admin.
	in := f.incidents()
	if !hasIncident(in, protocol.CodeOutOfScope, "410325101") {
		t.Errorf("no out_of_scope incident in %+v", in)
	}
	// The two forgeries came from one address with one message: one
	// incident that counts both (incidents.go).
	n := 0
	for _, i := range slices.DeleteFunc(slices.Clone(in), func(i countyapi.Incident) bool { return i.Code != protocol.CodeBadSignature }) {
		n += i.Times()
	}
	if n != 2 {
		t.Errorf("%d bad_signature refusals counted, want 2: %+v", n, in)
	}
}

func TestAdminListsAreArrays(t *testing.T) {
	f := startAdminFixture(t)
	for _, path := range []string{"/admin/conflicts", "/admin/incidents", "/admin/devices"} {
		code, body := f.admin("GET", path, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil || arr == nil {
			t.Fatalf("GET %s = %s: want a JSON array (%v)", path, body, err)
		}
	}
	// One refused call later, incidents is a non-empty array, newest first.
	f.do("GET", "/admin/conflicts", "zhangwei", "not the password", nil)
	f.do("GET", "/admin/conflicts", "second", "not the password", nil)
	in := f.incidents()
	if len(in) != 2 || !strings.Contains(in[0].Message, "second") {
		t.Fatalf("incidents %+v: want 2, newest first", in)
	}
	code, body := f.do("GET", "/healthz", "", "", nil)
	if code != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
}

func TestPinnedClientRefusesOtherServer(t *testing.T) {
	f := startAdminFixture(t)
	other, err := Init(t.TempDir(), testInitConfig())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: protocol.PinnedTLSConfig(other.Fingerprint)}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := c.Get(f.base + "/healthz")
	if err == nil {
		resp.Body.Close()
		t.Fatal("a client pinned to another county's certificate connected")
	}
	if !errors.Is(err, protocol.ErrWrongServer) {
		t.Logf("error (not wrapping ErrWrongServer): %v", err)
	}
}

func TestInsecureServeRefusesNonLoopback(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, testInitConfig()); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(dir)
	cfg.Insecure = true
	cfg.KDF = auth.TestParams()
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skip("cannot listen on 0.0.0.0:", err)
	}
	defer ln.Close()
	// Serve returns at once: it never accepts on this listener.
	err = srv.Serve(context.Background(), ln)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("Serve insecure on %s = %v, want a loopback-only refusal", ln.Addr(), err)
	}
}
