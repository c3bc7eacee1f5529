// Package public is the public disclosure part of the municipal platform
// (政务公开, §二(二) of the Luoyang plan): a read-only web page where anyone
// can search and read the published commitments of every township and how
// they were kept, and a JSON feed from which the city's credit platform
// (信用洛阳) copies the same records incrementally.
//
// # Basics
//
//	h := public.New(public.Config{Store: st})
//	mux.Handle("/", h)
//	// or under a prefix (the pages use relative links, so any prefix works
//	// as long as it ends in a slash):
//	mux.Handle("/gongshi/", http.StripPrefix("/gongshi", h))
//
// Routes (GET, and HEAD; POST where said):
//
//	/                          list with filters, search and cursor paging
//	/c/{office}/{id}           one commitment: text, amendments, timeline, evidence, cases, records
//	/c/{office}/{id}/file      complaint form; POST files it
//	/d/{office}                an office's published dishonesty records
//	/d/{office}/{id}           one published dishonesty record with its steps
//	/d/{office}/{id}/file      objection (or complaint) form; POST files it
//	/q/{token}.png             the form's question, drawn
//	/case                      case tracking form; POST looks a case up
//	/evidence/{sha256}         an evidence file, typed by its content
//	/api/v1/commitments        JSON snapshot, cursor paged
//	/api/v1/changes?since=N    JSON changes after feed position N
//	/api/v1/cases              JSON: shown cases, public fields only
//	/api/v1/dishonesty         JSON: published dishonesty records
//	/r                         the annual reports, by year
//	/r/{office}/{year}         one annual report (the city's code: the city's compilation)
//	/r/{office}/{year}/report.pdf, report.xlsx  the same as a file
//	/api/v1/reports            JSON: the annual reports
//
// The feed's schema and the rules are documented for the platform's
// developers in docs/public-feed.md.
//
// # Publication rules
//
// A commitment is shown exactly when its public flag is set, its status is
// not draft, and it was published at some time (a draft withdrawn before
// publication never appears). Withdrawn, breached and partly fulfilled
// commitments are shown with the reason given for that status. Shown are
// its content, the amendments made after publication with their reasons
// and times (with the value before and after), its status changes, its
// fulfilment entries (notes are public by §二(二)) and the evidence those
// entries cite. Never shown: drafts, non-public commitments, edits made
// before publication, author account names, device IDs and conflict
// details. An evidence file is served only while something published
// cites it.
//
// # Supervision
//
// The public files complaints and objections through plain HTML forms
// (no script; a question drawn as an image, a honeypot, per-address rate
// limits) into Config.Intake, which signs them and carries them to the
// county; the filer gets a case number and a tracking code, shown once.
// Cases are shown with their status, time limits and, once the county
// accepted it, the township's reply, never with the filer's text, files
// or contact (the tracking page shows the filer their own). Dishonesty
// records are published as store.DishonestyRecord.Public derives them under
// the city's disclosure settings (Config.Disclosure): the facts as
// corrected, the steps the county took or accepted, never a submission it
// has not accepted, never a withdrawn record. See docs/supervision.md,
// docs/public-feed.md and docs/municipal.md.
//
// # Caveats
//
//   - The list is served from an in-memory index of the shown commitments,
//     rebuilt when the store has changed (detected by bbolt's transaction
//     ID, which every write transaction advances). Config.MaxStale lets a
//     busy node serve an index up to that old instead of rebuilding after
//     every write; the detail page and the JSON items are always read from
//     the store directly.
//   - The changes endpoint needs a store opened with Options.Feed (the
//     county and municipal servers do). Without a feed only the snapshot
//     endpoint is available and /api/v1/changes answers 501.
//   - The tracking page finds a case by its number: on the replica by a
//     scan of the cases (fine for a city's thousands, not for millions),
//     or, before the county has accepted it, through the sink
//     (IntakeFinder, else a table of this process's filings).
//   - Feed positions belong to one node's store: several municipal nodes
//     hold the same records under different positions. Responses carry a
//     feed_id; a client that sees it change resynchronises from a snapshot.
package public
