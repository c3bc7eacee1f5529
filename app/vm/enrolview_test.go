package vm

import (
	"errors"
	"strings"
	"testing"

	"jiannuo/sync/protocol"
)

// TestEnrolView: the enrolment step keeps the device ID whatever happens;
// a failed attempt's error sits beside the request's status instead of
// replacing either; a field at fault has its own message.
func TestEnrolView(t *testing.T) {
	w := NewWizard(nil)
	if m := w.SetOffice(string(township)); m != nil {
		t.Fatal(*m)
	}
	if ms := w.SetAccount("zhangli", "张丽", testPass, testPass); len(ms) > 0 {
		t.Fatal(ms)
	}
	if _, err := w.Finish(openStore(t)); err != nil {
		t.Fatal(err)
	}
	v := w.EnrolView()
	id := v.DeviceID
	if id == "" || id != w.Session().Device().ID.String() || !v.Status.IsZero() || !v.Error.IsZero() {
		t.Fatalf("fresh view %+v", v)
	}
	if _, ok := w.CheckServer("http://county.example", "AB:CD"); ok {
		t.Fatal("a bad address and fingerprint pass")
	}
	v = w.EnrolView()
	if v.Fields[FieldServerURL].Key != "ui.enrol.url_insecure" || v.Fields[FieldFingerprint].Key != "ui.enrol.fingerprint_invalid" || v.DeviceID != id {
		t.Errorf("after a bad form: %+v", v)
	}
	fp := strings.Repeat("ab:", 31) + "ab"
	if len(fp) != 95 {
		t.Fatalf("fingerprint of %d characters", len(fp))
	}
	srv, ok := w.CheckServer("county.example:8443", fp)
	if !ok || srv.BaseURL != "https://county.example:8443" || len(w.EnrolView().Fields) != 0 {
		t.Errorf("a good form: %+v %v %+v", srv, ok, w.EnrolView().Fields)
	}
	w.EnrolAnswer(Msg("ui.enrol.pending"), nil)
	w.EnrolAnswer(Message{}, errors.Join(protocol.ErrWrongServer))
	v = w.EnrolView()
	if v.DeviceID != id || v.Status.Key != "ui.enrol.pending" || v.Error.Key != "error.wrong_server" {
		t.Errorf("after a failed retry: %+v", v)
	}
	checkMessage(t, v.Error)
	w.EnrolAnswer(Msg("ui.enrol.approved"), nil)
	if v = w.EnrolView(); v.Status.Key != "ui.enrol.approved" || !v.Error.IsZero() || v.DeviceID != id {
		t.Errorf("after approval: %+v", v)
	}
}
