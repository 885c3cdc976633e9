// Package checker answers "is this phone number in a known leak?".
//
// It is phonecheck's public API, a small facade over the internal packages
// that do the work: it builds an index from leak datasets ([Ingest]: rows
// normalized by [github.com/phonecheck/phonecheck/checker/phone], hashed
// under a versioned scheme ([Key], [HashScheme]), stored by a
// [github.com/phonecheck/phonecheck/hashset.Builder]), looks numbers up in
// it ([Checker]), checks whole files ([Batch]), serves and queries ranges
// ([Server], [Client], [Export]) and runs the private mode ([Seal],
// [PrivateClient]). Its handle types wrap internal pointers, so the
// internals move without changing this API; docs/architecture.md draws the
// packages.
//
// # Privacy model
//
// The heart of the product. Facts that shape it: a few hundred billion
// valid phone numbers exist (2e11 to 7e11 by libphonenumber's metadata);
// SHA-256 runs at ~12M hashes/s on one core and ~2e10/s on one consumer
// GPU. So:
//
//  1. A plain hash of a phone number is not a secret: anyone can hash every
//     valid number of a country in seconds to minutes. An index file, a
//     published bloom filter, or a range API answering with plain-hash
//     suffixes republishes the leak. Plain mode is for
//     an operator's own trusted use: local checks, their own batch runs.
//     Index files are written readable by their owner only.
//  2. Remote checks send only a short prefix of the hash (k-anonymity), and
//     compare the answer on the device. What a prefix reveals depends on
//     the country: with 20 bits a bucket holds ~5,600 valid US numbers but
//     ~30 valid Singapore numbers; anonymity must be measured per country
//     and shown to the user.
//  3. For anything served to the public, bucket contents are F_k(number),
//     an RFC 9497 OPRF under a server-held key: useless without online,
//     rate-limited evaluations. The private mode: [GenerateOPRFKey], [Seal]
//     (plain index to private index), [NewPrivateHandler] (the endpoints;
//     [NewServerOf] serves them, with the range routes off unless it is
//     given a plain index too), [PrivateClient] (blind, verify the
//     server's proof, unblind, compare on the device). docs/privacy.md
//     has the threat model: what the server, the client and a harvester
//     learn in each mode, and what rate limiting buys; the internal
//     private/wire package has the wire format byte by byte.
//  4. Logs, errors and metrics never hold a full number or a full hash:
//     [phone.Redact] gives the form they use (country code and last two
//     digits); [phone.NormalizeError] carries only a reason, never the
//     input.
//
// # Reading guide
//
// From main() to the inner loop in five hops (docs/architecture.md has
// the serving path too):
//
//  1. The command's main looks the subcommand up in its table; runBuild
//     calls [Ingest].
//  2. internal/ingest's Read opens every dataset file (format and column
//     sniffed, decompressed) and runs internal/pipeline's Run on each: a
//     reader goroutine, normalizing workers, an in-order collector.
//  3. The worker's loop: [phone.Normalizer.AppendE164] (clean, then the
//     library's parse and IsValidNumber replayed over metadata compiled
//     to digit automata, the library itself for shapes it does not
//     follow), then [Key] (SHA-256, top 8 bytes). Batch checks take the
//     same path (internal/batch).
//  4. hashset.Builder.Add, then [Build.WriteFile]: radix sort, dedup,
//     provenance, bloom filter, one file renamed into place.
//  5. The lookup side: runCheck, [phone.Normalize] (what
//     [Checker.Check] does first), [Checker.Lookup],
//     hashset.Reader.Contains.
package checker
