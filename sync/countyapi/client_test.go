package countyapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jiannuo/domain"
	"jiannuo/server/county/countytest"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

const (
	countyCode = "410324"
	township   = "410324101"
	admin      = "xinyongban"
	password   = "县信用办-管理口令-2026"
)

// enrolRequest is a new device's signed enrolment request for township.
func enrolRequest(t *testing.T) (protocol.DeviceID, []byte) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := protocol.EnrolRequest{Key: pub, Office: township, DeviceName: "赤土店镇-1", Staff: "张丽", Time: time.Now().UnixMilli()}
	return r.Device(), r.Sign(key)
}

// TestClientAgainstCounty: against a real county server, a device's
// enrolment request is pending with the typed status, the admin lists,
// approves it and the device reads its certificate back; the admin calls
// need the credential, enrolment calls none; RawAnswer sees each answer as
// sent.
func TestClientAgainstCounty(t *testing.T) {
	srv := countytest.Start(t, countytest.Config{County: countyCode, Admin: admin, Password: password})
	ctx := context.Background()
	cfg := countyapi.DefaultConfig(srv.Base.BaseURL, srv.Base.Fingerprint)
	device := countyapi.New(cfg)

	id, signed := enrolRequest(t)
	st, err := device.Enrol(ctx, signed)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != countyapi.EnrolPending || st.County != countyCode || !bytes.Equal(st.CountyKey, srv.Key) || st.Certificate != nil {
		t.Fatalf("enrolment answer %+v", st)
	}
	_, err = device.EnrolmentStatus(ctx, protocol.DeviceID{1})
	var ae *countyapi.APIError
	if !errors.Is(err, protocol.ErrUnknownDevice) || !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("status of a device never heard of: %v", err)
	}

	// Admin calls without the credential are refused as such.
	_, err = device.Enrolments(ctx, false)
	if !countyapi.IsCredentialError(err) || !errors.Is(err, protocol.ErrNotAuthorized) || protocol.CodeOf(err) != protocol.CodeNotAuthorized {
		t.Fatalf("admin call without a credential: %v", err)
	}

	var raw []byte
	cfg.Admin, cfg.Password, cfg.RawAnswer = admin, password, func(b []byte) { raw = b }
	ac := countyapi.New(cfg)
	list, err := ac.Enrolments(ctx, false)
	if err != nil || len(list) != 1 || list[0].Device != id || list[0].Status != countyapi.EnrolPending || list[0].Office != township {
		t.Fatalf("pending enrolments %+v, %v", list, err)
	}
	if !bytes.Contains(raw, []byte(`"status":"pending"`)) {
		t.Fatalf("raw answer %s", raw)
	}
	if err := ac.Reject(ctx, id, "  "); !errors.Is(err, domain.ErrReasonRequired) {
		t.Fatalf("rejection without a reason: %v", err)
	}
	d, err := ac.Approve(ctx, id, countyapi.ApproveRequest{})
	if err != nil || d.Status != countyapi.EnrolApproved {
		t.Fatalf("approval %+v, %v", d, err)
	}
	cert, err := protocol.OpenCertificate(d.Certificate, srv.Key)
	if err != nil || cert.Device != id || cert.Office != township {
		t.Fatalf("certificate %+v, %v", cert, err)
	}
	st, err = device.EnrolmentStatus(ctx, id)
	if err != nil || st.Status != countyapi.EnrolApproved || !bytes.Equal(st.Certificate, d.Certificate) {
		t.Fatalf("status after approval %+v, %v", st, err)
	}
	if _, err := ac.Approve(ctx, id, countyapi.ApproveRequest{}); !errors.Is(err, protocol.ErrNotFound) || !strings.Contains(string(raw), `"code":"not_found"`) {
		t.Fatalf("approving again: %v (raw %s)", err, raw)
	}
	devs, err := ac.Devices(ctx)
	if err != nil || len(devs) != 1 || devs[0].ID != id || devs[0].Online {
		t.Fatalf("devices %+v, %v", devs, err)
	}
	ov, err := ac.Overview(ctx)
	if err != nil || ov.County != countyCode {
		t.Fatalf("overview %+v, %v", ov, err)
	}
}

// TestClientPinsTheCertificate: a server whose certificate is not the
// pinned one fails enrolment and admin calls alike with an error that is
// protocol.ErrWrongServer, and the credential is not what is wrong.
func TestClientPinsTheCertificate(t *testing.T) {
	srv := countytest.Start(t, countytest.Config{County: countyCode, Admin: admin, Password: password})
	cfg := countyapi.DefaultConfig(srv.Base.BaseURL, strings.TrimSuffix(strings.Repeat("00:", 32), ":"))
	cfg.Admin, cfg.Password = admin, password
	c := countyapi.New(cfg)
	ctx := context.Background()
	_, signed := enrolRequest(t)
	if _, err := c.Enrol(ctx, signed); !errors.Is(err, protocol.ErrWrongServer) {
		t.Errorf("enrolment with the wrong pin: %v", err)
	}
	_, err := c.Incidents(ctx, 0, "")
	if !errors.Is(err, protocol.ErrWrongServer) || protocol.CodeOf(err) != protocol.CodeWrongServer || countyapi.IsCredentialError(err) {
		t.Errorf("admin call with the wrong pin: %v", err)
	}
}

// TestRefusalWithoutCodedBody: an answer that does not carry the
// county's error body (a proxy's, say) still becomes an *APIError with
// the code its status implies and its text as the message.
func TestRefusalWithoutCodedBody(t *testing.T) {
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/devices":
			http.Error(w, "upstream unavailable", http.StatusBadGateway)
		case "/admin/incidents":
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer hs.Close()
	c := countyapi.New(countyapi.DefaultConfig(hs.URL, protocol.Fingerprint(hs.Certificate().Raw)))
	ctx := context.Background()
	var ae *countyapi.APIError
	_, err := c.Devices(ctx)
	if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || ae.Code != protocol.CodeInternal || ae.Message != "upstream unavailable" {
		t.Errorf("502: %#v", err)
	}
	_, err = c.Incidents(ctx, 0, "")
	if !countyapi.IsCredentialError(err) || !errors.Is(err, protocol.ErrNotAuthorized) {
		t.Errorf("401: %v", err)
	}
	_, err = c.EnrolmentStatus(ctx, protocol.DeviceID{1})
	if !errors.As(err, &ae) || ae.Code != protocol.CodeNotFound || ae.Message != "Not Found" || !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("404: %#v", err)
	}
}

// TestParseFingerprint: a fingerprint as typed or pasted becomes the
// pinned form; anything but 32 hex pairs is refused.
func TestParseFingerprint(t *testing.T) {
	want := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	for _, in := range []string{want, strings.ToLower(want), strings.Repeat("ab", 32), " " + strings.ReplaceAll(want, ":", " ") + " ",
		strings.ReplaceAll(want, ":", "-")} {
		got, err := countyapi.ParseFingerprint(in)
		if err != nil || got != want {
			t.Errorf("ParseFingerprint(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "AB:CD", strings.Repeat("zz", 32), strings.Repeat("ab", 33), strings.Repeat("ab", 31) + "a"} {
		if _, err := countyapi.ParseFingerprint(in); !errors.Is(err, countyapi.ErrBadFingerprint) {
			t.Errorf("ParseFingerprint(%q) = %v, want ErrBadFingerprint", in, err)
		}
	}
}

// TestCheckURL: https and wss anywhere; plain http and ws only to this
// computer; every call of a client with another address fails before
// anything is sent.
func TestCheckURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://county.example:8443": true, "wss://10.0.0.5:8443/sync": true,
		"http://127.0.0.1:8080": true, "http://localhost:8080": true, "ws://[::1]:8080/sync": true,
		"http://10.20.0.5:8080": false, "ws://county.example/sync": false, "http://127.0.0.1.example.com": false,
		"ftp://127.0.0.1": false, "county.example:8443": false,
	} {
		if err := countyapi.CheckURL(u); (err == nil) != ok || (err != nil && !errors.Is(err, countyapi.ErrInsecureURL)) {
			t.Errorf("CheckURL(%q) = %v", u, err)
		}
	}
	c := countyapi.New(countyapi.DefaultConfig("http://192.0.2.7:8080", ""))
	if _, err := c.Incidents(context.Background(), 0, ""); !errors.Is(err, countyapi.ErrInsecureURL) {
		t.Errorf("a call over plain http off loopback: %v", err)
	}
}
