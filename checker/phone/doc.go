// Package phone normalizes phone numbers, as leak dumps write them, to
// E.164.
//
// [Normalize] is the reference: github.com/nyaruka/phonenumbers (the Go
// port of Google's libphonenumber, imported by this package only) behind a
// cleaning step for what dumps contain (spreadsheet artefacts, invisible
// characters, labels, foreign digits). A [Normalizer] returns exactly what
// Normalize returns, 40 to 150 times faster: the library's metadata
// compiled to digit automata (a region the first time a number needs it),
// the library itself for the input shapes the fast path does not follow. A differential test over a
// million generated inputs and a fuzz target hold the two equal.
//
// Two modes: Normalize adds to the library what leak dumps need, among it
// a retry that reads digits not valid in the default region as an
// international number ([Number.Retried] says when it fired);
// [NormalizeStrict] (and [Normalizer].Strict) reads numbers exactly as
// Google's library does.
//
// Errors never quote their input: a [NormalizeError] carries a [Reason]
// only, and [Redact] gives the form logs may show (country code and last
// two digits).
//
// The package links no network or server code and builds for
// GOOS=js GOARCH=wasm: a browser normalizes with the same code as the
// command.
package phone
