// Package vm holds the view-models of the 践诺 desktop app: everything a
// screen decides, computed without a window, so that it is tested with plain
// `go test -race` and CGO_ENABLED=0. The screens in package app only lay out
// widgets over these types and call them from their handlers.
//
// This package must not import Fyne (a test checks it).
//
// # Basics
//
//   - List is the commitments list: Load reads every commitment once into
//     rows with precomputed search text; SetFilter filters, searches and
//     sorts in memory; Row(i) feeds a virtualised widget.List.
//   - LoadDetail gathers one commitment's history, amendments, fulfilment
//     entries, evidence, conflicts, the county's receipt and the actions the
//     signed-in user may take (Actions).
//   - Form and SaveForm create, edit (drafts) and amend (published)
//     commitments, FormView decides which messages a form shows while it is
//     filled in; Fulfil and LogFulfil record fulfilment with evidence.
//   - SyncViewOf turns the sync engine's Status into the status bar;
//     SyncWatch says which reports change what the screens show (receipts,
//     work from the county); SyncNowNote answers a press of 立即同步.
//   - NewDashboard lays the statistics out for the dashboard; AnnualYear and
//     AnnualEmptyWarning guide the export.
//   - CaseList is the 投诉与异议 screen on both sides: a township device's
//     cases of its office, a county-admin device's cases of the county,
//     with their deadlines in working days (most urgent first), what each
//     awaits, the actions the signed-in user may take (CaseActions) and
//     the forms of those actions; Detail opens the filer's contact on a
//     township device of the handling office, never on an admin desktop.
//   - TownshipDishonesty and DishonestyList are the 失信记录 screens of the
//     township (explanation, rectification, objection) and of the county
//     (review, sanctions, mitigation, correction, withdrawal).
//   - SignIn and Wizard are the sign-in screen and the first-run wizard
//     (EnrolView: what its enrolment step shows).
//   - ErrorMessage turns any error into a plain-language message.
//
// # Messages
//
// No user-facing text is built here. Every text is a Message: a
// translation key from assets/i18n ("ui.form.title_required",
// "error.revoked_device", "status.published", …) and the fmt arguments of
// its value. An argument may itself be a Message, to be translated first;
// Message.Text does that given a lookup function (lang.L in the app,
// assets.Translator.T elsewhere).
//
// # Concurrency
//
// List, SignIn and Wizard are meant for one goroutine at a time (the UI
// goroutine, or a worker that hands its result to it); they hold no locks.
// The functions that take a store.Session or store.Store (LoadDetail,
// SaveForm, LogFulfil, …) read or write the database and may block on disk:
// call them off the UI goroutine for anything big. Values they return are
// copies the caller owns.
package vm
