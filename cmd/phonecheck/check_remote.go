package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// sentJSON is what left the device in a remote check (--json "sent").
type sentJSON struct {
	Server    string  `json:"server"`
	Mode      string  `json:"mode"` // "plain" or "private"
	Prefix    string  `json:"prefix"`
	Bits      int     `json:"bits"`
	Anonymity float64 `json:"anonymity"` // expected valid numbers of the country sharing the prefix
	// MinAnonymity is K; AnonymityShort says Anonymity falls short of it
	// (the country is too small at every length the server takes, or not
	// in the table: then AnonymityUnknown, and Anonymity is 0).
	MinAnonymity     float64 `json:"min_anonymity"`
	AnonymityShort   bool    `json:"anonymity_short"`
	AnonymityUnknown bool    `json:"anonymity_unknown,omitempty"`
	// Larger is the shorter prefix the server also takes (8 bits, from a
	// private server): its anonymity and about how many bytes it
	// downloads (absent if not known). Nothing was sent at that length.
	Larger *checker.PrefixOption `json:"larger,omitempty"`
	// Private mode: one blinded element left the device too, and the
	// answer was verified against the key KeyID (pinned or not).
	BlindedElements int    `json:"blinded_elements,omitempty"`
	KeyID           string `json:"key_id,omitempty"`
	KeyPinned       bool   `json:"key_pinned,omitempty"`
	Entries         int    `json:"entries,omitempty"` // bucket entries received, decoys included
	Padded          bool   `json:"padded,omitempty"`
	// Evaluator is where the blinded element went when it is not Server
	// (a static export naming its evaluation server), which then saw no
	// prefix.
	Evaluator string `json:"evaluator,omitempty"`
}

// remoteHTTP is the HTTP client of remote checks.
var remoteHTTP = &http.Client{Timeout: 30 * time.Second}

// remoteMaxWait is the longest Retry-After a check waits out by itself;
// beyond it, a rate-limited check fails and says when to try again.
const remoteMaxWait = 3 * time.Second

// runRemoteCheck is check --server: normalize and hash here; then private
// mode if the server offers it (GET /v1/private/key answers), else a plain
// range query. Either way only a prefix of the hash leaves the device,
// plus, in private mode, one blinded element.
func runRemoteCheck(ctx context.Context, raw string) error {
	pc := &checker.PrivateClient{BaseURL: checkFlags.server, HTTP: remoteHTTP, MaxWait: remoteMaxWait}
	if checkFlags.serverKey != "" {
		var err error
		if pc.PublicKey, pc.KeyID, err = parseServerKey(checkFlags.serverKey); err != nil {
			return err
		}
	}
	n, err := normalizeCheck(raw)
	if err != nil {
		return normalizeFailure(raw, err)
	}
	cfg, _, err := pc.Config(ctx)
	switch {
	case err == nil:
		return runPrivateCheck(ctx, pc, cfg, n)
	case noPrivateMode(err):
		if checkFlags.serverKey != "" {
			return withHint(fmt.Errorf("%s does not offer private mode, and --server-key pins a private key: nothing sent", checkFlags.server),
				"drop --server-key to accept a plain range check, or check the server's URL")
		}
		return runPlainCheck(ctx, n)
	case errors.Is(err, checker.ErrKeyMismatch):
		detail := strings.TrimPrefix(err.Error(), checker.ErrKeyMismatch.Error()+": ")
		return withHint(fmt.Errorf("%s: refusing the server's key (%s): nothing sent", checkFlags.server, detail),
			"the key is not the pinned one: a key rotation, or not the server you trust; get its key from a source you trust")
	}
	return withHint(fmt.Errorf("%s: %w", checkFlags.server, err), "is the server up? 'phonecheck serve --index INDEX' serves an index")
}

// noPrivateMode reports whether err, from the key endpoint, says the
// server has no private mode, so that a plain range check is next: a 404,
// or what static hosts answer for a missing file (403 from an object
// store that may not list its bucket, 410, or a page that is not JSON
// from a host that serves one page for every path).
func noPrivateMode(err error) bool {
	var se *checker.ServerError
	if errors.As(err, &se) {
		switch se.Status {
		case http.StatusNotFound, http.StatusForbidden, http.StatusGone:
			return true
		}
	}
	return errors.Is(err, checker.ErrNoPrivateMode)
}

// parseServerKey reads --server-key: a key id (16 hex digits), a public
// key (64 hex digits), or a file holding either a public key in hex or a
// JSON document with "public_key" (the key endpoint's answer, or a key
// file: only its public half is read).
func parseServerKey(v string) (*checker.OPRFPublicKey, string, error) {
	s := strings.TrimSpace(v)
	if !isHex(s) || (len(s) != 16 && len(s) != 64) {
		data, err := os.ReadFile(v)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, "", usagef("--server-key: want a key id (16 hex digits), a public key (64 hex digits) or a file holding one")
			}
			return nil, "", fmt.Errorf("--server-key: %w", err)
		}
		var doc struct {
			PublicKey string `json:"public_key"`
		}
		s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(data)), "public key "))
		if json.Unmarshal(data, &doc) == nil && doc.PublicKey != "" {
			s = doc.PublicKey
		}
		if !isHex(s) || len(s) != 64 {
			return nil, "", fmt.Errorf("--server-key %s: no public key (64 hex digits, or JSON with \"public_key\") in the file", v)
		}
	}
	if len(s) == 16 {
		return nil, strings.ToLower(s), nil
	}
	raw, _ := hex.DecodeString(s)
	pub, err := checker.ParseOPRFPublicKey(raw)
	if err != nil {
		return nil, "", fmt.Errorf("--server-key: %w", err)
	}
	return pub, "", nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// runPrivateCheck checks n in private mode: the prefix length follows
// --min-anonymity as in plain mode (among the lengths the server takes:
// the ladder up to its bucket bits, and 8 as a larger download), one
// blinded element goes with it, and the answer is verified against the
// server's key before it is compared here.
func runPrivateCheck(ctx context.Context, pc *checker.PrivateClient, cfg *checker.PrivateConfig, n phone.Number) error {
	pc.MinAnonymity, pc.Strict, pc.PrefixBits = checkFlags.minAnonymity, checkFlags.anonRequired, checkFlags.prefixBits
	split := cfg.EvaluateURL != ""
	res, err := pc.Lookup(ctx, n)
	if err != nil {
		var se *checker.ServerError
		switch {
		case errors.Is(err, checker.ErrPrefixNotOffered), errors.Is(err, checker.ErrAnonymity):
			return choiceFailure(checker.ModePrivate, n, res.Choice, err)
		case errors.As(err, &se) && se.Status == http.StatusTooManyRequests:
			wait := "later"
			if se.RetryAfter > 0 {
				wait = "in " + se.RetryAfter.String()
			}
			return withHint(fmt.Errorf("%s rate-limited this check (%s): try again %s", checkFlags.server, se.Message, wait),
				"the server limits evaluations per address so that nobody can test numbers in bulk")
		case errors.Is(err, checker.ErrProof), errors.Is(err, checker.ErrKeyMismatch):
			return withHint(err, "the answer did not come from the key the server publishes: do not trust it")
		}
		return withHint(fmt.Errorf("%s: %w", checkFlags.server, err), "is the server up? 'phonecheck serve --private ...' serves private queries")
	}
	bits := res.PrefixBits
	prefix := fmt.Sprintf("%0*X", (bits+3)/4, res.Prefix)
	pinned := pc.PublicKey != nil || pc.KeyID != ""
	if checkFlags.json {
		out := checkJSON{E164: n.E164, Region: n.Region, Exposed: res.Exposed, Datasets: res.Datasets,
			Sent: sentOf(checker.ModePrivate, prefix, res.Choice), Note: retriedNote(n)}
		out.Sent.BlindedElements, out.Sent.KeyID, out.Sent.KeyPinned, out.Sent.Entries, out.Sent.Padded = 1, res.KeyID, pinned, res.Entries, res.Padded
		if split {
			out.Sent.Evaluator = cfg.EvaluateURL
		}
		if err := printCheckJSON(out); err != nil {
			return err
		}
	} else {
		if !res.Exposed {
			fmt.Fprintf(stdout, "%s (%s) is not in any of the %d datasets of this server.\n", n.E164, n.Region, len(cfg.Datasets))
		} else {
			printResult(nil, res.Result)
		}
		printRetriedNote(n)
		if split {
			fmt.Fprintf(stdout, "Private mode: sent prefix %s (%d bits) to %s and a blinded element, without the prefix, to %s; %s\n",
				prefix, bits, checkFlags.server, strings.TrimSuffix(cfg.EvaluateURL, "/"), crowd(n, res.Choice))
		} else {
			fmt.Fprintf(stdout, "Private mode: sent prefix %s (%d bits) and a blinded element; %s\n", prefix, bits, crowd(n, res.Choice))
		}
		printLarger(checker.ModePrivate, res.Choice)
		padded := "unpadded"
		if res.Padded {
			padded = "padded"
		}
		how := "fetched from the server; pin it with --server-key " + res.KeyID
		if pinned {
			how = "pinned"
		}
		fmt.Fprintf(stdout, "The answer (%d bucket entries, %s) was verified against the server's key %s (%s).\n",
			res.Entries, padded, res.KeyID, how)
	}
	if res.Exposed && checkFlags.exitStatus {
		return exitCode(exitExposed)
	}
	return nil
}

// runPlainCheck checks n against a plain range endpoint or export.
func runPlainCheck(ctx context.Context, n phone.Number) error {
	cl := checker.NewClient(checkFlags.server, &checker.ClientOptions{HTTPClient: remoteHTTP, MinAnonymity: checkFlags.minAnonymity,
		PrefixBits: checkFlags.prefixBits, Strict: checkFlags.anonRequired})
	res, err := cl.Lookup(ctx, n)
	if err != nil {
		if errors.Is(err, checker.ErrAnonymity) || errors.Is(err, checker.ErrPrefixNotOffered) {
			return choiceFailure("plain", n, res.Choice, err)
		}
		return withHint(err, "is the server up? 'phonecheck serve --index INDEX' serves an index")
	}
	si, _ := cl.Info(ctx)
	if checkFlags.json {
		out := checkJSON{E164: n.E164, Region: n.Region, Exposed: res.Exposed, Datasets: res.Datasets,
			Demo: si.Index.Demo, Sent: sentOf("plain", res.Prefix, res.Choice), Note: retriedNote(n)}
		if err := printCheckJSON(out); err != nil {
			return err
		}
	} else {
		if si.Index.Demo {
			fmt.Fprintln(stderr, "phonecheck: the server serves the demo index: fictional numbers, not a real leak")
		}
		switch {
		case !res.Exposed:
			fmt.Fprintf(stdout, "%s (%s) is not in any of the %d datasets of this server.\n", n.E164, n.Region, len(si.Datasets))
		case res.DatasetsKnown:
			printResult(nil, res.Result)
		default:
			fmt.Fprintf(stdout, "%s (%s) is EXPOSED: it is in %d of the %d datasets of this server:\n", n.E164, n.Region, res.Count, len(si.Datasets))
			for _, d := range si.Datasets {
				printDataset(d.Dataset)
			}
		}
		printRetriedNote(n)
		fmt.Fprintf(stdout, "Plain mode: sent prefix %s (%d bits); %s\n", res.Prefix, res.Bits, crowd(n, res.Choice))
		printLarger("plain", res.Choice)
	}
	if res.Exposed && checkFlags.exitStatus {
		return exitCode(exitExposed)
	}
	return nil
}

// sentOf returns the "sent" object of --json for a prefix sent as ch.
func sentOf(mode, prefix string, ch checker.PrefixChoice) *sentJSON {
	return &sentJSON{Server: checkFlags.server, Mode: mode, Prefix: prefix, Bits: ch.Bits, Anonymity: ch.Anonymity,
		MinAnonymity: ch.K, AnonymityShort: ch.Short, AnonymityUnknown: !ch.Known, Larger: ch.Larger}
}

// crowd says, after "sent prefix ...;", among how many numbers the
// prefix hides n, and, when that falls short of K, why.
func crowd(n phone.Number, ch checker.PrefixChoice) string {
	if !ch.Known {
		s := fmt.Sprintf("how many valid numbers of your country share it is not known (%s is not in the table of 'phonecheck anonymity')", ch.Region)
		if checkFlags.prefixBits == 0 {
			s += ", so it is the shortest this server takes"
		}
		return s + "."
	}
	s := fmt.Sprintf("your number is one of about %s valid %s numbers with this prefix", roughCount(ch.Anonymity), n.Region)
	switch {
	case !ch.Short:
		return s + "."
	case checkFlags.prefixBits != 0:
		return fmt.Sprintf("%s, fewer than the %s asked for.", s, roughCount(ch.K))
	case ch.Bits == checker.PrefixLengths[0]:
		return fmt.Sprintf("%s, fewer than the %s asked for: %s has few numbers.", s, roughCount(ch.K), n.Region)
	}
	return fmt.Sprintf("%s, fewer than the %s asked for: this server takes no shorter prefix.", s, roughCount(ch.K))
}

// printLarger offers, to a number whose prefix falls short of K, the
// larger download if the server has one, and says plainly if not.
func printLarger(mode string, ch checker.PrefixChoice) {
	if !ch.Short {
		return
	}
	l := ch.Larger
	if l == nil {
		also := ""
		if mode == "plain" {
			also = fmt.Sprintf(" (a private server takes %d)", checker.LargerPrefixBits)
		}
		fmt.Fprintf(stdout, "No larger download to offer: this server takes no prefix shorter than %d bits%s.\n", ch.Bits, also)
		return
	}
	size := ""
	if l.Bytes > 0 {
		size = " (about " + humanBytes(l.Bytes) + ")"
	}
	among := "about " + roughCount(l.Anonymity)
	if !ch.Known {
		among = fmt.Sprintf("%d times as many", 1<<(ch.Bits-l.Bits))
	}
	fmt.Fprintf(stdout, "For more privacy: --prefix-bits %d downloads a larger answer%s that hides it among %s.\n", l.Bits, size, among)
}

// choiceFailure is the error of a check that sent nothing: a
// --prefix-bits the server does not take (a usage error, naming what it
// takes), or a --min-anonymity no length reaches (with what would do).
func choiceFailure(mode string, n phone.Number, ch checker.PrefixChoice, err error) error {
	if errors.Is(err, checker.ErrPrefixNotOffered) {
		if checkFlags.prefixBits == 0 {
			return withHint(fmt.Errorf("%s: nothing sent: %w", checkFlags.server, err), "is it a phonecheck server or export? 'phonecheck serve' offers 12 to 24 bits")
		}
		// "...: N bits; the server takes 12, 16, 20 or 24 bits"
		msg := err.Error()
		if _, takes, ok := strings.Cut(msg, "; "); ok {
			msg = takes
		}
		ue := usagef("--prefix-bits %d: %s", checkFlags.prefixBits, msg).hint("leave out --prefix-bits to let check choose")
		if mode == "plain" && checkFlags.prefixBits < checker.PrefixLengths[0] {
			ue.hint("the plain range API takes no prefix under %d bits; a private server (serve --private) takes %d", checker.PrefixLengths[0], checker.LargerPrefixBits)
		}
		return ue
	}
	err = fmt.Errorf("%s: nothing sent: %w", phone.Redact(n.E164), err)
	hint := fmt.Sprintf("without --min-anonymity, check answers with a %d-bit prefix", ch.Bits)
	if ch.Known {
		hint += fmt.Sprintf(" (about %s %s numbers share it)", roughCount(ch.Anonymity), n.Region)
	}
	if l := ch.Larger; l != nil && ch.Known && l.Anonymity >= ch.K {
		hint += fmt.Sprintf("; --prefix-bits %d hides it among about %s, a larger download", l.Bits, roughCount(l.Anonymity))
	}
	return withHint(err, "%s; or check locally against an index with --index", hint)
}
