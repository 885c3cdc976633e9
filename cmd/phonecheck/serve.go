package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/hashset"
)

var cmdServe = &Command{
	Name: "serve",
	UsageLine: "serve [--index INDEX] [--addr HOST:PORT] [--max-age DURATION] [--allow-origin ORIGIN]...\n" +
		"       phonecheck serve --private --key KEY --index PRIVATE [--plain-ranges PLAIN] [--rate R] [--burst N] [--max-elements N] [--padding always|asked] [--rate-store redis://HOST:PORT/DB [--replicas N]] [--trusted-proxy CIDR]... [--proxy-header X-Forwarded-For|Forwarded] [--country-stats=false] [--allow-origin ORIGIN]...",
	Short: "answer range queries, or private (OPRF) queries, over HTTP",
	Long: `
Serve answers range queries over INDEX on HTTP: a client sends 3 to 8 hex
digits of its number's hash and compares the keys that share them on its
own device ('phonecheck check --server URL'). With no --index it serves the
embedded demo index of fictional numbers.

GET / is a web page that checks a number in the browser, with the same
code as 'phonecheck check --server' compiled to WebAssembly: only a prefix
(and, in private mode, a blinded element) leaves the person's device.

Routes: GET /range/{prefix} (HIBP-style SUFFIX:COUNT lines, JSON with
Accept: application/json, padded with Add-Padding: true), /v1/datasets,
/v1/stats, /healthz, /metrics (Prometheus), /openapi.json. Range responses
carry an ETag and Cache-Control: public, max-age=--max-age.

With --private, INDEX is a private index ('phonecheck seal') and KEY the
key it was sealed under ('phonecheck keygen'): serve answers GET
/v1/private/key (the public key clients verify against) and POST
/v1/private/query (a bucket prefix and blinded elements in, evaluations
with a proof and the padded bucket out), and nothing it hands out can be
tested offline. The range routes are off (404) unless --plain-ranges names
a plain index to serve them from, for trusted clients. Evaluations are
limited per client (IPv4 address or IPv6 /64) by a token bucket of --rate
per second and --burst; --rate 0 turns the limit off (a server behind a
gateway that limits). serve refuses a key file that group or others can
read, and an index sealed under another key.

Behind nginx, a load balancer or a CDN, the connection's address is the
proxy's, and every client would share its one allowance. --trusted-proxy
CIDR (repeat the flag or separate ranges with commas; a bare address is a
/32 or /128) names the proxies in front: a request whose connection comes
from one counts against the client named in X-Forwarded-For (or, with
--proxy-header Forwarded, RFC 7239's for=). The list is read from the
right, skipping trusted addresses, as nginx's real_ip_recursive does: the
first address that is not a trusted proxy is the client (the leftmost if
all are). Only the header chosen is read: accepting both would let a
client pick the one its proxy leaves alone. Anything else keeps using the
connection's address: a connection from an untrusted address, whatever
it sends, and a list whose entry in the client's place is not an address.
The proxy must append the address it sees, e.g. in nginx:

    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;

The limits are kept in memory: right for one server, but N replicas
behind a load balancer would give each client N times the limit, and a
restart forgets them. --rate-store redis://HOST:PORT/DB keeps them in
Redis instead, one allowance per client for all the replicas pointed at
it (give each the same --rate, --burst and key). Redis holds no address:
a client is an HMAC of its address under a secret derived from the key,
expiring once its bucket has refilled. If Redis fails or takes over
50 ms, each replica limits on its own at --rate divided by --replicas
(the number of replicas; default 1), logs it (at most every 10 s) and
counts it in /metrics, and goes back to Redis as soon as it answers.

/v1/stats publishes the index's numbers per country and per dataset. In
private mode that is more than the buckets reveal (docs/privacy.md, "What
/v1/stats reveals"): --country-stats=false makes it answer the key count
only, {"keys": N}.

Before it serves an index, at start and on every reload, serve checks
every checksum of the file (on all cores; a few seconds for a
multi-gigabyte index) and refuses one that fails, naming the file and the
damaged section. --no-verify skips the check, for those who verify their
files another way: a damaged file is then served as if it were intact.

SIGHUP reopens INDEX (and KEY and PLAIN), checks them, and swaps them in:
requests under way finish on the old ones, new ones start on the new
ones, and a reload that fails keeps serving the old ones. Replace an
index by rename, never by writing over it: build or copy the new file
next to it, then move it over the old name and send SIGHUP, e.g.

    phonecheck build --out served.idx.new ... && mv served.idx.new served.idx
    kill -HUP $(pidof phonecheck)

(cp over a served file rewrites the pages the server has mapped: requests
that read them fail with 500 until a good file is renamed into place and
reloaded). A key rotation is a new KEY and a new PRIVATE index, each
renamed into place, then SIGHUP (under systemd with LoadCredential=, a
restart: the credential is copied at start only). Rate limits carry over
a reload.
SIGINT or SIGTERM stop accepting connections and wait up to 10 s for
requests under way.

--allow-origin lets web pages of ORIGIN (scheme://host[:port], e.g.
https://app.example.org; repeat the flag or separate origins with commas)
call the server from a browser (CORS): they may read ranges, /v1/datasets,
/v1/stats and private query answers, errors included, and their
preflights get 204. Pages of other origins may read only the key document
and /openapi.json (Access-Control-Allow-Origin: *); their preflights get
403 and their private queries are refused before any evaluation, so they
cannot spend your users' rate allowance. "*" is not accepted: plain
ranges and evaluations stay with the origins you list.

Plain-hash ranges are reversible for phone numbers: anyone who can query
the server can hash every valid number of a country and learn which are in
the index. Bind to loopback (the default) or serve trusted clients only;
serve warns when it serves plain ranges on an address that is not
loopback. A plain range is never readable by a page of an unlisted
origin, which could otherwise read it through a user's browser wherever
that browser reaches the server.
`,
}

var serveFlags struct {
	index, addr string
	maxAge      time.Duration
	private     bool
	key, plain  string
	rate        float64
	burst, max  int
	padding     string
	lanes       int
	stats       bool
	origins     originsFlag
	proxies     listFlag
	proxyHeader string
	noVerify    bool
	rateStore   string
	replicas    int
}

// listFlag collects a repeated, comma-separated flag; its values are
// checked where they are used.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		*l = append(*l, strings.TrimSpace(s))
	}
	return nil
}

// originsFlag collects --allow-origin: repeated, or comma-separated.
type originsFlag []string

func (o *originsFlag) String() string { return strings.Join(*o, ",") }

func (o *originsFlag) Set(v string) error {
	n := len(*o)
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*o = append(*o, s)
		}
	}
	if len(*o) == n {
		return errors.New("no origin given: want scheme://host[:port]")
	}
	return nil
}

// testServeListening, when set by tests, receives the bound address.
var testServeListening func(addr string)

func init() {
	cmdServe.SetFlags = func(fs *flag.FlagSet) {
		f := &serveFlags
		fs.StringVar(&f.index, "index", "", "index file to serve (default: the embedded demo index); with --private, a private index")
		fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
		fs.DurationVar(&f.maxAge, "max-age", time.Hour, "Cache-Control max-age of range responses (0: no-cache)")
		fs.BoolVar(&f.private, "private", false, "answer private (OPRF) queries from a private --index sealed under --key")
		fs.StringVar(&f.key, "key", "", "with --private: the secret key file the index was sealed under")
		fs.StringVar(&f.plain, "plain-ranges", "", "with --private: also serve plain-hash ranges from the plain index `PLAIN` (trusted clients only)")
		fs.Float64Var(&f.rate, "rate", checker.DefaultPrivateRate, "with --private: evaluations per second per client (0: no limit)")
		fs.IntVar(&f.burst, "burst", 0, "with --private: evaluations a client may spend at once (default and minimum: --max-elements)")
		fs.StringVar(&f.rateStore, "rate-store", "", "with --private: keep the per-client limits in the Redis at `URL` (redis://HOST:PORT/DB), shared by the replicas using it")
		fs.IntVar(&f.replicas, "replicas", 1, "with --rate-store: the replicas sharing it; while Redis fails, each limits at --rate divided by this")
		fs.IntVar(&f.max, "max-elements", checker.DefaultMaxElements, "with --private: blinded elements per request, 1..65535")
		fs.IntVar(&f.lanes, "lanes", 0, "event loops serving connections (Linux): 0 for one fewer than the CPUs the Go runtime uses (at least 1; with --private, as many), -1 for a goroutine per connection")
		fs.StringVar(&f.padding, "padding", "always", "with --private: `MODE` always pads every bucket answer, asked only those whose client asks")
		fs.BoolVar(&f.noVerify, "no-verify", false, "serve an index without checking its checksums first (start-up and reload read the whole file otherwise)")
		fs.BoolVar(&f.stats, "country-stats", true, "publish per-country and per-dataset counts at /v1/stats (false: the key count only)")
		f.origins = nil // a Var keeps its value from one run to the next
		f.proxies = nil
		fs.Var(&f.proxies, "trusted-proxy", "with --private: the proxies in front (`CIDR`, or an address): their clients are rate-limited by the address the proxies forward, read right to left; repeat or separate with commas")
		fs.StringVar(&f.proxyHeader, "proxy-header", checker.HeaderXForwardedFor, "with --trusted-proxy: the header the proxies name the client in, X-Forwarded-For or Forwarded (only that one is read)")
		fs.Var(&f.origins, "allow-origin", "let web pages of `ORIGIN` (scheme://host[:port]) call the server from a browser (CORS); repeat or separate with commas")
	}
	cmdServe.Run = runServe
}

func runServe(ctx context.Context, cmd *Command, args []string) error {
	f := &serveFlags
	if len(args) > 0 {
		return usagef("serve takes no arguments").hint("give the index with --index INDEX")
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return usagef("--addr: want HOST:PORT, e.g. 127.0.0.1:8080")
	}
	popts, err := privateServeOptions(cmd)
	if err != nil {
		return err
	}
	origins, err := allowedOrigins()
	if err != nil {
		return err
	}
	ixs, err := openServeIndexes(ctx)
	if err != nil {
		return err
	}
	errw := stderr // what runs after start-up writes here, not to the global a test may swap
	log := slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	maxAge := f.maxAge
	if maxAge == 0 {
		maxAge = -1
	}
	page, err := checker.NewWebPage(checker.WebPageOptions{})
	if err != nil {
		ixs.Close()
		return err
	}
	// A fault reading a mapped index means its file was written over in
	// place: try a reload, which serves the new file once it is whole
	// and checks out, and keeps the old mapping (whose requests fail)
	// until then.
	faultc := make(chan struct{}, 1)
	onFault := func() {
		select {
		case faultc <- struct{}{}:
		default:
		}
	}
	// The rate store is opened once, under the first key: a reload that
	// rotates the key keeps the clients' hashes, and their limits.
	var limiter checker.PrivateLimiter
	if f.rateStore != "" {
		store, err := checker.OpenRateStore(f.rateStore, ixs.Key, checker.RateStoreOptions{Replicas: f.replicas, Logger: log})
		if err != nil {
			ixs.Close()
			return usagef("--rate-store: %s", strings.TrimPrefix(strings.TrimPrefix(err.Error(), "ratestore: "), "checker: "))
		}
		defer store.Close()
		if err := store.Ping(ctx); err != nil {
			warningf("the rate store does not answer (%v): limiting locally at --rate/--replicas until it does", err)
		}
		limiter = store
	}
	srv, err := checker.NewServerOf(ixs, checker.ServerOptions{MaxAge: maxAge, Logger: log, Private: popts, Page: page, AllowOrigins: origins, OnFault: onFault,
		NoCountryStats: !f.stats, Limiter: limiter})
	if err != nil {
		ixs.Close()
		return err
	}
	defer srv.Close()
	if ixs.Plain != nil && ixs.Plain.Demo() {
		warningf("serving the embedded demo index: fictional numbers, not a real leak (use --index)")
	}
	if ixs.Private != nil && !ixs.Private.DeterministicPadding() {
		warningf("%s was sealed before padding was made deterministic: its decoys change at every start, so answers from before and after a restart can be compared to strip them", f.index)
		hintf("seal it again: phonecheck seal --key %s --in PLAIN --out %s", f.key, f.index)
	}
	if !checker.IsLoopback(f.addr) {
		if ixs.Plain != nil {
			warningf("serving plain-hash ranges on %s, which is not a loopback address: anyone who reaches it can hash every valid number of a country and learn which are in the index", f.addr)
			hintf("serve trusted clients only (firewall, VPN, authenticating proxy), or bind 127.0.0.1")
		}
		if ixs.Private != nil && popts.Rate < 0 {
			warningf("no rate limit (--rate 0) on %s, which is not a loopback address: anyone who reaches it can test numbers as fast as the server evaluates", f.addr)
		}
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	es := srv.EventServer()
	es.EventLoops = f.lanes
	if f.lanes == 0 && ixs.Private != nil {
		// An event loop computes the private queries it answers (~100 us
		// of CPU each, against ~10 for a range answer): one loop a P lets
		// every core compute. Measured on 2 cores at 2 connections, with
		// wrk on the same cores: a single loop served them in turn (p50
		// ~230 us, twice a query's time), two loops ~1.4x its queries/s.
		es.EventLoops = runtime.GOMAXPROCS(0)
	}
	if ixs.Private != nil {
		limit := "no rate limit"
		if popts.Rate > 0 {
			limit = fmt.Sprintf("%g evaluations/s per client, burst %d", popts.Rate, max(popts.Burst, popts.MaxElements))
			if f.rateStore != "" {
				limit += fmt.Sprintf(", shared in Redis by %d replicas", f.replicas)
			}
		}
		ranges := "plain ranges off"
		if ixs.Plain != nil {
			ranges = fmt.Sprintf("plain ranges of %d numbers", ixs.Plain.Index().Len())
		}
		fmt.Fprintf(stderr, "phonecheck: serving private queries over %d keys (key id %s, %d-bit buckets, %s; %s) on http://%s\n",
			ixs.Private.Index().Len(), ixs.Key.ID(), ixs.Private.BucketBits(), limit, ranges, ln.Addr())
		if len(popts.TrustedProxies) > 0 {
			var ps []string
			for _, p := range popts.TrustedProxies {
				ps = append(ps, p.String())
			}
			fmt.Fprintf(stderr, "phonecheck: requests from the trusted proxies %s count against the client their %s names\n", strings.Join(ps, ", "), popts.ProxyHeader)
		}
	} else {
		fmt.Fprintf(stderr, "phonecheck: serving %d numbers (index %s) on http://%s\n", ixs.Plain.Index().Len(), srv.IndexID(), ln.Addr())
	}
	fmt.Fprintf(stderr, "phonecheck: the web page is at http://%s/\n", ln.Addr())
	if len(origins) > 0 {
		fmt.Fprintf(stderr, "phonecheck: web pages of %s may call this server (CORS)\n", strings.Join(origins, ", "))
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	errc := make(chan error, 1)
	go func() { errc <- es.Serve(ln) }()
	if testServeListening != nil {
		testServeListening(ln.Addr().String())
	}
	reload := func() (ok bool) {
		// Opening maps the new files and reads their headers, and the
		// swap reads them to build its documents: a file being written
		// over in place may fault there too. As in a request, a fault
		// is a failed reload, not a dead process.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if p := recover(); p != nil {
				if re, isRuntime := p.(runtime.Error); !isRuntime || !strings.Contains(re.Error(), "fault") {
					panic(p)
				}
				log.Error("reload failed: an index file changed while it was read, still serving the previous index", "fault", fmt.Sprint(p))
				ok = false
			}
		}()
		nixs, err := openServeIndexes(ctx)
		if err != nil {
			log.Error("reload failed, still serving the previous index", "err", err)
			return false
		}
		if err := srv.SwapIndexes(nixs); err != nil {
			if errors.Is(err, checker.ErrSwapRefused) {
				nixs.Close() // refused: the previous index still serves
				log.Error("reload refused, still serving the previous index", "err", err)
				return false
			}
			log.Warn("reload: closing the previous index", "err", err)
		}
		attrs := []any{"index", srv.IndexID()}
		if nixs.Private != nil {
			attrs = append(attrs, "keys", nixs.Private.Index().Len(), "key_id", nixs.Key.ID())
		}
		if nixs.Plain != nil {
			attrs = append(attrs, "numbers", nixs.Plain.Index().Len())
		}
		log.Info("reloaded", attrs...)
		return true
	}
	// After a fault, a reload is tried every second until one succeeds:
	// a file being copied over fails to open or verify until the copy
	// ends, and once it ends no request may fault to say so.
	var retry <-chan time.Time
	for {
		select {
		case <-hup:
			if f.index == "" {
				log.Warn("reload: nothing to reload, serving the embedded demo index")
				continue
			}
			if reload() {
				retry = nil
			}
		case <-faultc:
			if retry == nil {
				log.Warn("reload: an index file was changed in place, reloading it")
				retry = time.After(0)
			}
		case <-retry:
			retry = nil
			if !reload() {
				retry = time.After(time.Second)
			}
		case err := <-errc:
			return err
		case <-ctx.Done():
			fmt.Fprintln(errw, "phonecheck: shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := es.Shutdown(sctx); err != nil {
				es.Close()
			}
			if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
}

// privateServeOptions checks the flags of the private mode and returns
// its handler options.
func privateServeOptions(cmd *Command) (checker.PrivateHandlerOptions, error) {
	f := &serveFlags
	var o checker.PrivateHandlerOptions
	if !f.private {
		var set []string
		cmd.Flag.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "key", "plain-ranges", "rate", "burst", "max-elements", "padding", "trusted-proxy", "proxy-header", "rate-store", "replicas":
				set = append(set, "--"+fl.Name)
			}
		})
		if len(set) > 0 {
			return o, usagef("%s only go with --private", strings.Join(set, ", ")).
				hint("serve --private --key KEY --index PRIVATE answers private queries")
		}
		return o, nil
	}
	switch {
	case f.key == "":
		return o, usagef("--private needs --key KEY, the key the index was sealed under").
			hint("phonecheck keygen --out KEY, then phonecheck seal --key KEY --in PLAIN --out PRIVATE")
	case f.index == "":
		return o, usagef("--private needs --index PRIVATE, an index from 'phonecheck seal'")
	case f.plain != "" && f.plain == f.index:
		return o, usagef("--plain-ranges names a plain index, not the private --index")
	case f.rate < 0:
		return o, usagef("--rate %g: want evaluations per second, or 0 for no limit", f.rate)
	case f.max < 1 || f.max > math.MaxUint16:
		return o, usagef("--max-elements %d not in 1..65535", f.max)
	case f.burst < 0:
		return o, usagef("--burst %d is negative", f.burst)
	case f.padding != "always" && f.padding != "asked":
		return o, usagef("--padding %q: want always or asked", f.padding)
	case f.replicas < 1:
		return o, usagef("--replicas %d: want the number of replicas sharing --rate-store, at least 1", f.replicas)
	case f.replicas != 1 && f.rateStore == "":
		return o, usagef("--replicas goes with --rate-store").hint("serve --private --rate-store redis://HOST:PORT/0 --replicas N")
	case f.rateStore != "" && !strings.HasPrefix(f.rateStore, "redis://") && !strings.HasPrefix(f.rateStore, "rediss://"):
		return o, usagef("--rate-store %q: want redis://HOST:PORT/DB (or rediss:// for TLS)", f.rateStore)
	case f.rateStore != "" && f.rate == 0:
		return o, usagef("--rate-store with --rate 0: there is no limit to share")
	}
	proxies, err := trustedProxies(f.proxies)
	if err != nil {
		return o, err
	}
	header := http.CanonicalHeaderKey(strings.TrimSpace(f.proxyHeader))
	if header != checker.HeaderXForwardedFor && header != checker.HeaderForwarded {
		return o, usagef("--proxy-header %q: want X-Forwarded-For or Forwarded", f.proxyHeader).
			hint("the header your proxy sets: nginx's proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for sets X-Forwarded-For")
	}
	if len(proxies) == 0 && header != checker.HeaderXForwardedFor {
		return o, usagef("--proxy-header goes with --trusted-proxy CIDR: without trusted proxies no header is read")
	}
	o = checker.PrivateHandlerOptions{Rate: f.rate, Burst: f.burst, MaxElements: f.max, PadOnlyWhenAsked: f.padding == "asked",
		TrustedProxies: proxies, ProxyHeader: header}
	if f.rate == 0 {
		o.Rate = -1 // the checker's "no limit"
	}
	return o, nil
}

// trustedProxies parses --trusted-proxy: CIDR ranges, or addresses (a
// /32 or /128).
func trustedProxies(args []string) ([]netip.Prefix, error) {
	const hint = "give each proxy's address or range: --trusted-proxy 10.0.0.0/8,192.0.2.7,2001:db8::/48"
	var out []netip.Prefix
	for _, s := range args {
		if s == "" {
			return nil, usagef("--trusted-proxy: an empty range").hint(hint)
		}
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, usagef("--trusted-proxy %q is not a CIDR range", s).hint(hint)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			if m := p.Masked(); m != p {
				return nil, usagef("--trusted-proxy %s has bits set past its /%d: did you mean %s?", s, p.Bits(), m)
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, usagef("--trusted-proxy %q is not an IP address", s).hint(hint)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Bits() == 0 {
			return nil, usagef("--trusted-proxy %s trusts every address: any client could name itself in X-Forwarded-For", s).hint(hint)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// allowedOrigins checks --allow-origin and returns its origins as
// browsers send them.
func allowedOrigins() ([]string, error) {
	var out []string
	for _, s := range serveFlags.origins {
		o, err := checker.ParseOrigin(s)
		if err != nil {
			e := usagef("--allow-origin: %s", strings.TrimPrefix(err.Error(), "checker: "))
			if s == "*" {
				return nil, e.hint("list each web page's origin: --allow-origin https://app.example.org,https://www.example.org")
			}
			return nil, e.hint("an origin is what a browser shows before the page's path: https://app.example.org, http://localhost:3000")
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// openServeIndexes opens what the flags name: the plain index (or a
// fresh Checker over the demo index if --index is empty; the Server closes
// what it serves, and closing the demo Checker is a no-op), or with
// --private the key, the private index sealed under it, and the optional
// plain index of --plain-ranges. Unless --no-verify, it checks every
// checksum of each index file before returning it.
func openServeIndexes(ctx context.Context) (checker.Indexes, error) {
	ixs, err := openServeFiles()
	if err != nil || serveFlags.noVerify {
		return ixs, err
	}
	f := &serveFlags
	if ixs.Private != nil {
		err = verifyServed(ctx, f.index, ixs.Private.Index())
	}
	if err == nil && ixs.Plain != nil && !ixs.Plain.Demo() {
		path := f.index
		if f.private {
			path = f.plain
		}
		err = verifyServed(ctx, path, ixs.Plain.Index())
	}
	if err != nil {
		ixs.Close()
		return checker.Indexes{}, err
	}
	return ixs, nil
}

// verifyServed checks every checksum of the index at path, on all cores:
// a file damaged after it was built must not be served, and would be
// served with the ETag of the intact file (the index id comes from the
// stored checksums).
func verifyServed(ctx context.Context, path string, r *hashset.Reader) error {
	if err := r.VerifyChecksums(ctx, 0); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return withHint(fmt.Errorf("%s: %w", path, err), "rebuild or copy the index again; 'phonecheck verify %s' checks it (serve --no-verify skips this check)", path)
	}
	return nil
}

func openServeFiles() (checker.Indexes, error) {
	f := &serveFlags
	if !f.private {
		c, err := openChecker(f.index)
		if err != nil {
			if errors.Is(err, checker.ErrScheme) {
				return checker.Indexes{}, withHint(err, "a private index is served with --private --key KEY")
			}
			return checker.Indexes{}, err
		}
		return checker.Indexes{Plain: c}, nil
	}
	key, err := checker.LoadOPRFKey(f.key)
	if err != nil {
		switch {
		case errors.Is(err, checker.ErrKeyPermissions):
			return checker.Indexes{}, withHint(err, "chmod 600 %s: whoever reads the key can test every number against the index offline", f.key)
		case errors.Is(err, os.ErrNotExist):
			return checker.Indexes{}, withHint(err, "generate a key with 'phonecheck keygen --out %s' and seal the index under it", f.key)
		}
		return checker.Indexes{}, err
	}
	pix, err := checker.OpenPrivate(f.index, key)
	if err != nil {
		switch {
		case errors.Is(err, checker.ErrKeyMismatch):
			return checker.Indexes{}, withHint(err, "give the key %s was sealed under, or seal the plain index again: phonecheck seal --key %s --in PLAIN --out %s", f.index, f.key, f.index)
		case errors.Is(err, checker.ErrNotPrivate):
			return checker.Indexes{}, withHint(err, "seal a plain index first: phonecheck seal --key %s --in %s --out PRIVATE", f.key, f.index)
		case errors.Is(err, os.ErrNotExist):
			return checker.Indexes{}, err
		}
		return checker.Indexes{}, withHint(err, "run 'phonecheck verify %s' for details", f.index)
	}
	ixs := checker.Indexes{Private: pix, Key: key}
	if f.plain != "" {
		c, err := checker.Open(f.plain)
		if err != nil {
			pix.Close()
			if errors.Is(err, checker.ErrScheme) {
				return checker.Indexes{}, withHint(err, "--plain-ranges takes a plain index from 'phonecheck build'")
			}
			return checker.Indexes{}, err
		}
		ixs.Plain = c
	}
	return ixs, nil
}
