package vm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"jiannuo/assets"
	"jiannuo/auth"
	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/store"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

func TestErrorMessageCodes(t *testing.T) {
	for _, c := range protocol.Codes() {
		want := "error." + string(c)
		for _, err := range []error{
			protocol.ErrorFor(c),
			fmt.Errorf("pushing change set 7: %w", protocol.ErrorFor(c)),
			&engine.FatalError{Code: c, Message: "from the server"},
			fmt.Errorf("sync: %w", &engine.FatalError{Code: c}),
		} {
			m := ErrorMessage(err)
			if m.Key != want {
				t.Errorf("%v: %s, want %s", err, m.Key, want)
			}
			checkMessage(t, m)
		}
	}
	if m := ErrorMessage(&engine.FatalError{Code: protocol.CodeInternal}); m.Key != "error.internal" {
		t.Errorf("internal: %v", m)
	}
	if m := ErrorMessage(&engine.FatalError{Code: "brand_new_code"}); m.Key != "error.unknown" {
		t.Errorf("unknown code: %v", m)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestErrorMessageMapping(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("saving: %w", err) }
	for _, tc := range []struct {
		err  error
		want string
	}{
		{wrap(store.ErrConflicted), "error.conflicted_field"},
		{wrap(store.ErrNotEditable), "ui.error.not_editable"},
		{wrap(store.ErrWrongPassword), "error.wrong_password"},
		{wrap(auth.ErrWrongPassphrase), "error.wrong_password"},
		{wrap(auth.ErrWeakPassphrase), "error.weak_passphrase"},
		{wrap(store.ErrEvidenceTooLarge), "error.evidence_too_large"},
		{wrap(store.ErrEvidenceMismatch), "error.evidence_mismatch"},
		{wrap(store.ErrNotFound), "error.not_found"},
		{wrap(store.ErrNotSetUp), "ui.error.not_set_up"},
		{wrap(store.ErrAlreadySetUp), "ui.error.already_set_up"},
		{wrap(store.ErrAccountExists), "ui.error.account_exists"},
		{wrap(store.ErrSchemaTooNew), "ui.error.schema_too_new"},
		{wrap(store.ErrInvariant), "ui.error.store_damaged"},
		{wrap(domain.ErrIllegalTransition), "error.illegal_transition"},
		{wrap(domain.ErrReasonRequired), "error.reason_required"},
		{wrap(domain.ErrNotAllowed), "error.not_authorized"},
		{wrap(domain.ErrInvalidValue), "error.invalid_operation"},
		{wrap(calendar.ErrBadDate), "error.invalid_operation"},
		{&FormError{Fields: map[string]Message{FieldTitle: Msg("ui.form.title_required")}}, "ui.error.form_invalid"},
		{&FileError{Name: "现场照片.jpg", Err: fmt.Errorf("%w: 25 MiB", store.ErrEvidenceTooLarge)}, "ui.fulfil.file_too_large"},
		{&FileError{Name: "现场照片.jpg", Err: os.ErrNotExist}, "ui.fulfil.file_missing"},
		{&FileError{Name: "现场照片.jpg", Err: os.ErrPermission}, "ui.fulfil.file_unreadable"},
		{&FileError{Name: "现场照片.jpg", Err: store.ErrNotEditable}, "ui.error.not_editable"},
		{wrap(os.ErrNotExist), "ui.error.file_missing"},
		{wrap(os.ErrPermission), "ui.error.file_permission"},
		{wrap(context.Canceled), "ui.error.canceled"},
		{wrap(context.DeadlineExceeded), "ui.error.network"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, "ui.error.network"},
		{wrap(timeoutErr{}), "ui.error.network"},
		{errors.New("disk on fire"), "error.unknown"},
	} {
		m := ErrorMessage(tc.err)
		if m.Key != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, m.Key, tc.want)
		}
		checkMessage(t, m)
	}
	if m := ErrorMessage(nil); !m.IsZero() {
		t.Errorf("nil: %v", m)
	}
	m := ErrorMessage(&FileError{Name: "现场照片.jpg", Err: store.ErrEvidenceTooLarge})
	zh := assets.NewTranslator(assets.LangZhHans)
	if got := m.Text(func(k string) string { return zh.T(k) }); got != "文件“现场照片.jpg”超过 20 MB 的上限，请压缩或拆分后再添加" {
		t.Errorf("too large: %q", got)
	}
}

// TestErrorMessageFromActions maps the errors real actions return.
func TestErrorMessageFromActions(t *testing.T) {
	d := newTownship(t)
	ref := d.create(t, spec{title: "动作错误测试", start: date(2026, 11, 2), deadline: domain.WorkdaysDeadline(5)})
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"staff publishes", d.staff.Publish(ref), "error.not_authorized"},
		{"withdraw without reason", d.leader.Withdraw(ref, ""), "error.reason_required"},
		{"illegal transition", d.leader.Transition(ref, domain.StatusFulfilledLate, ""), "error.illegal_transition"},
		{"amend a draft", d.leader.Amend(ref, []store.Change{{Field: domain.FieldTitle, Value: "新"}}, "理由"), "ui.error.not_editable"},
		{"invalid value", d.leader.Edit(ref, domain.FieldTitle, ""), "error.invalid_operation"},
		{"unknown commitment", d.leader.Publish(store.Ref{Office: township}), "error.not_found"},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if m := ErrorMessage(tc.err); m.Key != tc.want {
			t.Errorf("%s: %v → %s, want %s", tc.name, tc.err, m.Key, tc.want)
		}
	}
	_, err := d.s.SignIn("zhangli", "错误的口令-0000")
	if m := ErrorMessage(err); m.Key != "error.wrong_password" {
		t.Errorf("wrong password: %v → %v", err, m)
	}
	// A second window opening the same file waits, then gives up.
	_, err = store.Open(d.s.Path(), &store.Options{LockTimeout: 50 * time.Millisecond, KDF: auth.TestParams(), Logger: quiet()})
	if m := ErrorMessage(err); m.Key != "ui.error.store_locked" {
		t.Errorf("locked file: %v → %v", err, m)
	}
}

func TestMessageText(t *testing.T) {
	zh, en := assets.NewTranslator(assets.LangZhHans), assets.NewTranslator(assets.LangEn)
	m := Msg("ui.signin.who", "张丽", RoleMessage(domain.RoleLeader))
	if got := m.Text(func(k string) string { return zh.T(k) }); got != "张丽 · 单位负责人" {
		t.Errorf("zh: %q", got)
	}
	if got := m.Text(func(k string) string { return en.T(k) }); got != "张丽 · Leader" && got != "张丽 · "+en.T("role.leader") {
		t.Errorf("en: %q", got)
	}
	if got := Msg("status.draft").Text(func(k string) string { return zh.T(k) }); got != "草稿" {
		t.Errorf("no args: %q", got)
	}
	if got := (Message{}).Text(func(string) string { return "x" }); got != "" {
		t.Errorf("empty: %q", got)
	}
	p := Msg("due.overdue", 3)
	nested := Msg("ui.sync.line", &p, Msg("ui.sync.offline"), Msg("ui.sync.no_receipt"))
	if got := nested.Text(func(k string) string { return zh.T(k) }); got != "已逾期 3 天 · 离线 · 尚无县级平台确认" {
		t.Errorf("nested: %q", got)
	}
	if keys := nested.Keys(); len(keys) != 4 {
		t.Errorf("keys %v", keys)
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 12800: "12.5 KB", 3 << 20: "3.0 MB", 5 << 30: "5.0 GB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDueAndDeadlineMessages(t *testing.T) {
	cal := calendar.Default()
	for _, tc := range []struct {
		due  domain.Due
		want string
		args []any
	}{
		{domain.Due{State: domain.DueOverdue, Date: date(2026, 11, 10), DaysOverdue: 15}, "due.overdue", []any{15}},
		{domain.Due{State: domain.DueSoon, Date: date(2026, 11, 27), WorkdaysLeft: 2}, "due.soon", []any{2}},
		{domain.Due{State: domain.DueLater, Date: date(2026, 12, 31)}, "due.ok", []any{"2026-12-31"}},
		{domain.Due{State: domain.DueLater, Date: date(2031, 1, 31), Estimated: true}, "ui.due.ok_estimated", []any{"2031-01-31"}},
		{domain.Due{Date: date(2026, 10, 1)}, "due.ok", []any{"2026-10-01"}}, // closed
		{domain.Due{}, "due.none", nil},
	} {
		m := DueMessage(tc.due)
		if m.Key != tc.want || fmt.Sprint(m.Args) != fmt.Sprint(tc.args) {
			t.Errorf("%+v: %v", tc.due, m)
		}
		checkMessage(t, m)
	}
	for _, m := range []Message{
		DeadlineMessage(domain.DateDeadline(date(2026, 12, 31)), calendar.Date{}, cal),
		DeadlineMessage(domain.WorkdaysDeadline(7), date(2026, 9, 30), cal),
		DeadlineMessage(domain.WorkdaysDeadline(7), calendar.Date{}, cal),
		DeadlineMessage(domain.WorkdaysDeadline(7), date(2031, 3, 3), cal),
		DeadlineMessage(domain.DeadlineNone(), calendar.Date{}, cal),
	} {
		checkMessage(t, m)
	}
}
