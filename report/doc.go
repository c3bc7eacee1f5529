// Package report turns commitments into what a township leader or a county
// admin reads: the dashboard statistics (Compute, ByOffice), charts drawn as
// images (BarChart, LineChart) and the two exports the Luoyang plan asks for,
// the public-notice list (公开承诺事项清单) and the annual report of
// fulfilment by category (年度践诺情况报告, §六(三)), as .xlsx and .csv,
// and the printable public notice (公示) as an A4 PDF with a QR code per
// commitment (WriteNoticePDF).
//
// # Basics
//
// Everything works on the current views the store returns
// (store.AllCommitments): the package does no I/O of its own besides writing
// to the io.Writer it is given, and it does not import Fyne, so the desktop
// app, the county server and command-line tools can all use it.
//
//	cs, _ := st.AllCommitments()
//	s := report.Compute(cs, today, cal)
//	rate, ok := s.All.OnTimeRate()
//
// The exact definition of every figure is in docs/reports.md; the short
// version:
//
//   - A commitment has a verdict when its status is fulfilled on time,
//     fulfilled late, partly fulfilled or breached. The on-time rate is
//     on time ÷ those four; drafts, open (published, in progress) and
//     withdrawn commitments are in neither numerator nor denominator.
//   - Overdue and due-soon are domain.ComputeDue on "today": open
//     commitments only, working days from the official holiday calendar.
//   - A verdict is dated by ClosedOn: the date of the latest fulfilment
//     entry, or, with no entry, the day (China Standard Time) of the
//     commitment's newest operation.
//
// # Caveats
//
// Statuses are those of today, not of any earlier day: the views carry no
// status history, so an annual report written on 5 January counts a
// commitment closed on 3 January with its new status. Charts draw their
// text with ChartOptions.Font (EmbeddedFont is the app's): values, the names
// of bars and points, axis titles; without a font, numbers only, with a
// small built-in digit font (0–9 . % -), names left to the caller at the
// positions Layout gives.
package report
