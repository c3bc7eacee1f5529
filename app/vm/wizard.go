package vm

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"

	"jiannuo/domain"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// Step is a page of the first-run wizard.
type Step int

// The steps, in order.
const (
	OfficeStep  Step = iota // pick the township or street office
	AccountStep             // the first account (a leader) and passphrase
	KeyStep                 // generate the device key (Finish)
	EnrolStep               // enrol with the county server, or skip and work offline
	DoneStep                // set up; the app opens
)

// Names of the wizard's fields, the keys of SetAccount's and
// ParseServer's results.
const (
	FieldOffice      = "office"
	FieldName        = "name"
	FieldDisplayName = "display_name"
	FieldPassphrase  = "passphrase"
	FieldPassphrase2 = "passphrase2"
	FieldServerURL   = "server_url"
	FieldFingerprint = "fingerprint"
)

// Wizard is the first-run wizard: OfficeStep → AccountStep → KeyStep
// (Finish generates the key and sets the store up) → EnrolStep (Enrol with
// the county server, polling pending → approved, or Skip and work offline,
// enrolling later) → DoneStep. For one goroutine at a time; Finish and
// Enrol block (key derivation, network) and belong off the UI goroutine.
type Wizard struct {
	dir  *office.Directory
	step Step

	office office.Unit

	name, display, pass string

	se        *store.Session
	requested bool

	enrol enrolState // what the enrolment step shows (EnrolView)
}

// NewWizard starts the wizard with the office directory to pick from (nil
// means office.Luoyang()).
func NewWizard(dir *office.Directory) *Wizard {
	if dir == nil {
		dir = office.Luoyang()
	}
	return &Wizard{dir: dir}
}

// Step returns the current step.
func (w *Wizard) Step() Step { return w.step }

// Back returns to the previous step where that is possible: before the
// key is generated, and from EnrolStep nowhere (the store is set up).
func (w *Wizard) Back() {
	if w.step == AccountStep || w.step == KeyStep {
		w.step--
	}
}

// SearchOffices finds offices by name or code, townships and streets
// first (the offices a device is set up for), then the rest in the
// directory's order of relevance.
func (w *Wizard) SearchOffices(q string) []office.Unit {
	if strings.TrimSpace(q) == "" {
		// Nothing typed yet: offer every township and street, by code.
		var all []office.Unit
		for _, u := range w.dir.Units() {
			if u.Level() == office.Township {
				all = append(all, u)
			}
		}
		return all
	}
	units := w.dir.Search(q)
	slices.SortStableFunc(units, func(a, b office.Unit) int {
		at, bt := a.Level() == office.Township, b.Level() == office.Township
		switch {
		case at == bt:
			return 0
		case at:
			return -1
		}
		return 1
	})
	return units
}

// SetOffice picks the office by its division code (chosen from
// SearchOffices or typed): it must be a township-level code (9 digits); one
// missing from the directory is accepted by code. It advances to
// AccountStep, or returns why the code is refused.
func (w *Wizard) SetOffice(code string) *Message {
	code = strings.TrimSpace(fold(code))
	c, err := office.Parse(code)
	if err != nil {
		m := Msg("ui.wizard.office_invalid")
		return &m
	}
	if c.Level() != office.Township {
		m := Msg("ui.wizard.office_not_township")
		return &m
	}
	u, ok := w.dir.Lookup(c)
	if !ok {
		u = office.Unit{Code: c, Name: string(c)}
	}
	w.office = u
	if w.step == OfficeStep {
		w.step = AccountStep
	}
	return nil
}

// Office returns the office picked, with its county and city for display
// ("河南省 › 洛阳市 › 栾川县 › 赤土店镇").
func (w *Wizard) Office() (office.Unit, []office.Unit) {
	return w.office, w.dir.Path(w.office.Code)
}

// SetAccount sets the first account: a sign-in name (letters, digits,
// ".", "_", "-"), the name shown, and the passphrase twice. It advances to
// KeyStep, or returns a message per field at fault.
func (w *Wizard) SetAccount(name, display, pass, pass2 string) map[string]Message {
	name, display, out := CheckAccount(name, display, pass, pass2)
	if len(out) > 0 {
		return out
	}
	w.name, w.display, w.pass = name, display, pass
	if w.step == AccountStep {
		w.step = KeyStep
	}
	return out
}

// DeviceName is the label the county admin sees for this device: the
// office's name and the computer's name, e.g. "赤土店镇（DESKTOP-3F2A）".
func (w *Wizard) DeviceName() string {
	name := w.office.Name
	if h, err := os.Hostname(); err == nil && h != "" && domain.CheckText("host", h, 64) == nil &&
		len(name)+len(h)+len("（）") <= protocol.MaxNameBytes {
		name += "（" + h + "）"
	}
	return name
}

// Finish generates the device key and sets the store up for the office,
// with the account as its first user, a leader (who can add staff
// accounts). It returns that user's session and advances to EnrolStep.
func (w *Wizard) Finish(s *store.Store) (*store.Session, error) {
	if w.step != KeyStep {
		return nil, errors.New("wizard: office and account first")
	}
	se, err := s.Setup(store.SetupConfig{Office: w.office.Code, DeviceName: w.DeviceName(),
		Name: w.name, DisplayName: w.display, Role: domain.RoleLeader, Passphrase: w.pass})
	if err != nil {
		return nil, err
	}
	w.pass = ""
	w.se = se
	w.step = EnrolStep
	return se, nil
}

// Session returns the session Finish opened, or nil before.
func (w *Wizard) Session() *store.Session { return w.se }

// DeviceID returns this device's ID as the county admin sees it in the
// enrolment request ("MFRGGZD-FMZTWQ3-2LKNNWG-23TPOAT"), to be read out and
// compared; "" before Finish.
func (w *Wizard) DeviceID() string {
	if w.se == nil {
		return ""
	}
	return w.se.Device().ID.String()
}

// Skip leaves enrolment for later: the device works offline.
func (w *Wizard) Skip() {
	if w.step == EnrolStep {
		w.step = DoneStep
	}
}

// Enrol asks the county server to enrol this device (the first call) and
// then reports where the request stands (call it again to poll): status
// says pending, approved, rejected (with the reason) or revoked. When
// approved it saves the server settings, marks the device enrolled and
// advances to DoneStep. Errors are for ErrorMessage (a wrong fingerprint is
// error.wrong_server, no connection ui.error.network).
func (w *Wizard) Enrol(ctx context.Context, srv engine.Server) (status Message, approved bool, err error) {
	if w.se == nil {
		return Message{}, false, errors.New("wizard: finish before enrolling")
	}
	status, approved, err = EnrolNow(ctx, w.se, srv, !w.requested)
	if err == nil {
		w.requested = true
	}
	if approved && w.step == EnrolStep {
		w.step = DoneStep
	}
	return status, approved, err
}

// EnrolNow is the enrolment step on its own, for a device that skipped it
// in the wizard: with request it sends (or repeats; that is harmless) the
// enrolment request, otherwise it asks where the request stands, sending
// it if the county has none. It saves the server settings, Enrolled once
// approved.
func EnrolNow(ctx context.Context, se *store.Session, srv engine.Server, request bool) (Message, bool, error) {
	var en *engine.Enrolment
	var err error
	if !request {
		en, err = engine.EnrolmentStatus(ctx, srv, se)
		if errors.Is(err, protocol.ErrUnknownDevice) || errors.Is(err, protocol.ErrNotFound) {
			request = true
		}
	}
	if request {
		en, err = engine.RequestEnrolment(ctx, srv, se)
	}
	if err != nil {
		return Message{}, false, err
	}
	approved := en.Status == countyapi.EnrolApproved && en.Certificate != nil
	err = se.Store().SetSyncSettings(store.SyncSettings{BaseURL: srv.BaseURL, Fingerprint: srv.Fingerprint,
		County: en.County, CountyKey: ed25519.PublicKey(en.CountyKey), Enrolled: approved})
	if err != nil {
		return Message{}, false, err
	}
	switch {
	case approved:
		return Msg("ui.enrol.approved"), true, nil
	case en.Status == countyapi.EnrolPending:
		return Msg("ui.enrol.pending"), false, nil
	case en.Status == countyapi.EnrolRejected:
		return Msg("ui.enrol.rejected", en.Reason), false, nil
	case en.Status == countyapi.EnrolRevoked:
		return Msg("error.revoked_device"), false, nil
	}
	return Msg("ui.enrol.unknown", en.Status), false, nil
}

// ParseServer checks the county server's address and certificate
// fingerprint as typed: an https address (http only on this computer, for
// development), a scheme added when missing; a fingerprint of 32 bytes in
// hex, any case, with or without colons or spaces. It returns the server
// or a message per field at fault.
func ParseServer(address, fingerprint string) (engine.Server, map[string]Message) {
	out := map[string]Message{}
	address = strings.TrimSpace(fold(address))
	if address != "" && !strings.Contains(address, "://") {
		address = "https://" + address
	}
	u, err := url.Parse(address)
	switch {
	case address == "":
		out[FieldServerURL] = Msg("ui.enrol.url_required")
	case err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
		out[FieldServerURL] = Msg("ui.enrol.url_invalid")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		out[FieldServerURL] = Msg("ui.enrol.url_insecure")
	case u.Scheme != "https" && u.Scheme != "http":
		out[FieldServerURL] = Msg("ui.enrol.url_invalid")
	}
	fp, err := countyapi.ParseFingerprint(fold(fingerprint))
	if err != nil {
		out[FieldFingerprint] = Msg("ui.enrol.fingerprint_invalid")
	}
	if len(out) > 0 {
		return engine.Server{}, out
	}
	return engine.Server{BaseURL: u.Scheme + "://" + u.Host, Fingerprint: fp}, out
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Message names the step for the wizard's header ("ui.wizard.step_<name>").
func (s Step) Message() Message {
	switch s {
	case OfficeStep:
		return Msg("ui.wizard.step_office")
	case AccountStep:
		return Msg("ui.wizard.step_account")
	case KeyStep:
		return Msg("ui.wizard.step_key")
	case EnrolStep:
		return Msg("ui.wizard.step_enrol")
	}
	return Msg("ui.wizard.step_done")
}

// enrolState is what the enrolment step has learnt so far.
type enrolState struct {
	status Message
	err    Message
	fields map[string]Message
}

// EnrolView is what the enrolment step shows. The device ID is always
// there, whole, to be read out over the phone; the state of the request
// and the last attempt's error each have their own line, so an error never
// takes the ID's place; each field has its own message.
type EnrolView struct {
	DeviceID string             // as DeviceID returns it
	Status   Message            // pending, approved, rejected…; zero before the county answered
	Error    Message            // the last attempt's error; zero after an answer
	Fields   map[string]Message // the address's and fingerprint's messages (FieldServerURL, FieldFingerprint)
}

// EnrolView returns what the enrolment step shows now.
func (w *Wizard) EnrolView() EnrolView {
	return EnrolView{DeviceID: w.DeviceID(), Status: w.enrol.status, Error: w.enrol.err, Fields: w.enrol.fields}
}

// CheckServer checks the address and fingerprint as typed (ParseServer),
// keeping the fields' messages for EnrolView; ok is false when one is at
// fault.
func (w *Wizard) CheckServer(address, fingerprint string) (engine.Server, bool) {
	srv, bad := ParseServer(address, fingerprint)
	w.enrol.fields = bad
	return srv, len(bad) == 0
}

// EnrolAnswer records one answer of Enrol for EnrolView: a status replaces
// the last error; an error (ErrorMessage explains it) leaves the status
// as it was.
func (w *Wizard) EnrolAnswer(status Message, err error) {
	if err != nil {
		w.enrol.err = ErrorMessage(err)
		return
	}
	w.enrol.status, w.enrol.err = status, Message{}
}
