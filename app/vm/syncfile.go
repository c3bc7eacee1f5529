package vm

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/engine"
	"jiannuo/sync/protocol"
)

// Sync by USB stick (docs/sync-file.md), as the screens show it: the
// township's 导出同步包 (a preview of what goes, then the file written to
// a folder), its 导入回执包, and the county admin's import of a township's
// bundle.

// BundleFileName is the name of a device's bundle number n made at t:
// jiannuo-<office>-<device>-<n>-<date>.jnsb, plain ASCII for any USB stick.
func BundleFileName(o office.Code, dev protocol.DeviceID, n uint64, t time.Time) string {
	return fmt.Sprintf("jiannuo-%s-%s-%d-%s%s", o, dev.Short(), n, t.Format("20060102"), protocol.BundleFileExt)
}

// ReturnFileName is the name of the return file of the bundle named
// bundle: the same, with the return file's extension.
func ReturnFileName(bundle string) string {
	return strings.TrimSuffix(bundle, protocol.BundleFileExt) + protocol.ReturnFileExt
}

// ParseUntil reads the "up to and including" date of a bundle cut by date
// ("2026-11-20"; empty: no cut) as the instant the cut is at: the start of
// the next day in loc.
func ParseUntil(text string, loc *time.Location) (time.Time, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return time.Time{}, nil
	}
	d, err := calendar.ParseDate(text)
	if err != nil {
		return time.Time{}, err
	}
	return d.AddDays(1).Time(loc), nil
}

// dateOf is the day of t in loc, as text.
func dateOf(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02") }

// ExportSummaryLines says what a bundle holds, as the export dialog shows
// it before and after the file is written: its change sets, when their
// operations were made, what was left for later, its evidence, its size,
// and that nothing leaves the outbox until the return file comes back.
func ExportSummaryLines(s engine.ExportSummary, loc *time.Location) []Message {
	var out []Message
	if s.ChangeSets == 0 {
		out = append(out, Msg("app.syncfile.summary_none", s.Number))
	} else {
		out = append(out, Msg("app.syncfile.summary_sets", s.Number, s.ChangeSets, s.Ops, dateOf(s.First, loc), dateOf(s.Last, loc)))
	}
	if s.Later > 0 {
		out = append(out, Msg("app.syncfile.summary_later", s.Later))
	}
	out = append(out, Msg("app.syncfile.summary_evidence", s.EvidenceSent, FormatBytes(s.EvidenceSentBytes), s.EvidenceLeft, s.EvidenceWanted),
		Msg("app.syncfile.summary_size", FormatBytes(s.Bytes)),
		Msg("app.syncfile.outbox_note"))
	return out
}

// ExportTooLarge explains a bundle whose change sets do not fit, and
// returns the latest date to cut it at (the zero Date when no whole day
// fits); ok is false for any other error.
func ExportTooLarge(err error, loc *time.Location) (m Message, until calendar.Date, ok bool) {
	var tl *engine.TooLargeError
	if !errors.As(err, &tl) {
		return Message{}, calendar.Date{}, false
	}
	if tl.Until.IsZero() {
		return Msg("app.syncfile.too_large_no_day", FormatBytes(tl.Size), FormatBytes(tl.Limit)), calendar.Date{}, true
	}
	until = calendar.DateOf(tl.Until.In(loc)).AddDays(-1)
	return Msg("app.syncfile.too_large", FormatBytes(tl.Size), FormatBytes(tl.Limit), until.String()), until, true
}

// ImportSummaryLines says what a return file brought.
func ImportSummaryLines(s engine.ImportSummary, loc *time.Location) []Message {
	out := []Message{
		Msg("app.syncfile.imported", s.Number, s.Created.In(loc).Format("2006-01-02 15:04")),
		Msg("app.syncfile.imported_receipts", s.Receipts, s.Outbox),
		Msg("app.syncfile.imported_feed", s.Delivered, s.EvidenceReceived),
	}
	var first protocol.Code
	n := 0
	for _, r := range s.Refused {
		if !r.Hash.IsZero() {
			continue // an evidence file: asked again next time
		}
		if n++; n == 1 {
			first = r.Code
		}
	}
	if n > 0 {
		out = append(out, Msg("app.syncfile.imported_refused", n, CodeMessage(first)))
	}
	if s.Reset {
		out = append(out, Msg("app.syncfile.imported_reset"))
	}
	if s.Partial {
		out = append(out, Msg("app.syncfile.imported_partial"))
	}
	return out
}

// AdminImportLines says what the county did with a township's bundle, for
// the county admin.
func AdminImportLines(s countyapi.SyncImport, returnPath string) []Message {
	name := string(s.Office)
	if unit, ok := office.Luoyang().Lookup(s.Office); ok {
		name = unit.Name
	}
	out := []Message{
		Msg("adminui.syncfile.done", name, s.Device.String(), s.Number, s.ChangeSets, s.Receipted, s.Refused),
		Msg("adminui.syncfile.done_feed", s.Delivered, s.EvidenceIn, s.EvidenceOut),
	}
	if s.Refused > 0 {
		out = append(out, Msg("adminui.syncfile.refused", CodeMessage(s.RefusedCode)))
	}
	if s.Skipped {
		out = append(out, Msg("adminui.syncfile.skipped"))
	}
	if !s.FeedComplete || s.EvidenceLeft > 0 {
		out = append(out, Msg("adminui.syncfile.partial"))
	}
	return append(out, Msg("adminui.syncfile.saved", returnPath))
}

// lastSyncMessage is the status bar's last part when the device knows its
// last sync: when, how, and the county's last receipt.
func lastSyncMessage(s engine.Status, now time.Time, receipt Message) Message {
	via := Msg("ui.sync.via_online")
	if s.LastSyncVia == store.SyncedByFile {
		via = Msg("ui.sync.via_file")
	}
	return Msg("ui.sync.last_sync", shortTime(s.LastSync, now), via, receipt)
}

// shortTime formats t for the status bar: month, day and time, the year
// too when it is not now's.
func shortTime(t, now time.Time) string {
	t = t.In(now.Location())
	if t.Year() != now.Year() {
		return t.Format("2006-01-02 15:04")
	}
	return t.Format("01-02 15:04")
}
