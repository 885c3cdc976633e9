package phonecheck

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The import graph of the module, written as data and checked against
// what `go list` says of the real imports (non-test files only), as the Go
// tree's go/build/deps_test.go does. A package may import the standard
// library, and beyond it only what its line names: module packages by
// their path inside the module, other modules' packages by full path. A
// package missing from the table fails the test, so a new package states
// its place in the graph.
//
// The rules the table keeps:
//   - dependencies point one way: cmd -> checker -> checker/internal/... ->
//     hashset; nothing under checker/internal imports checker itself;
//   - each third-party package is imported by one package of the module
//     (the exceptions are listed in sharedImports, each with its reason);
//   - the client side (clientPackages) links no HTTP server, no metrics,
//     no event loop and no index reader, and builds for GOOS=js
//     GOARCH=wasm: a browser runs the same code as the command.
var depsRules = map[string][]string{
	"hashset": {
		"github.com/bits-and-blooms/bloom/v3",
		"golang.org/x/sys/unix",
	},
	"checker/phone": {
		"github.com/nyaruka/phonenumbers",
	},
	"checker/internal/keyscheme": {"checker/phone"},
	"checker/internal/synth":     {"checker/phone", "checker/internal/pipeline"},
	"checker/internal/httpfront": {"golang.org/x/sys/unix"},
	// Test support: raw HTTP/1.1 exchanges, for the fast path's tests.
	"checker/internal/rawhttptest": {},
	// Test support: a headless Chromium for the web page's tests, the
	// only importer of chromedp.
	"checker/internal/web/browsertest": {
		"checker/phone",
		"github.com/chromedp/chromedp", "github.com/chromedp/cdproto/cdp",
		"github.com/chromedp/cdproto/emulation", "github.com/chromedp/cdproto/heapprofiler",
		"github.com/chromedp/cdproto/log", "github.com/chromedp/cdproto/network",
		"github.com/chromedp/cdproto/runtime", "github.com/chromedp/cdproto/systeminfo",
	},
	"checker/internal/oprf/r255": {
		"filippo.io/edwards25519", "filippo.io/edwards25519/field",
		"golang.org/x/sys/cpu",
	},
	// SHA-512 compression on 8 lanes (generated assembly), for the seal.
	"checker/internal/sha512x8": {"golang.org/x/sys/cpu"},
	"checker/internal/oprf": {
		"checker/internal/oprf/r255", "checker/internal/sha512x8",
		"github.com/cloudflare/circl/oprf", "github.com/cloudflare/circl/zk/dleq",
	},
	// The private mode: the device's side (wire format, query, answer
	// check) apart from the index, so that a browser links no hashset.
	"checker/internal/private/wire": {
		"checker/internal/oprf", "checker/internal/rangeapi/rangewire", "checker/internal/keyscheme",
		"golang.org/x/crypto/cryptobyte",
	},
	"checker/internal/private": {
		"checker/internal/keyscheme", "checker/internal/oprf", "checker/internal/private/wire",
		"checker/internal/pipeline", "hashset",
	},
	// The range API: its wire format and documents (shared by server,
	// export and clients, a browser's too), and the HTTP client.
	"checker/internal/rangeapi/rangewire": {"checker/internal/keyscheme"},
	"checker/internal/rangeapi":           {"checker/internal/keyscheme", "checker/phone", "checker/internal/rangeapi/rangewire"},
	"checker/internal/rangeapi/rangeenc":  {"checker/internal/rangeapi", "checker/internal/pipeline", "hashset"},
	"checker/internal/pipeline":           {},
	"checker/internal/ingest": {
		"checker/phone", "checker/internal/keyscheme", "checker/internal/pipeline",
		"hashset",
		"github.com/BurntSushi/toml",
		"github.com/klauspost/compress/gzip", "github.com/klauspost/compress/zstd",
	},
	"checker/internal/batch": {
		"checker/phone", "checker/internal/keyscheme", "checker/internal/pipeline",
		"checker/internal/ingest",
	},
	// The private mode's transport: handler, rate limits, HTTP client,
	// batch and static export, over the sans-IO protocol of private/wire.
	"checker/internal/privateapi": {
		"checker/phone", "checker/internal/keyscheme", "checker/internal/oprf",
		"checker/internal/private", "checker/internal/private/wire",
		"checker/internal/rangeapi", "checker/internal/rangeapi/rangeenc",
		"checker/internal/ingest", "checker/internal/batch", "checker/internal/pipeline",
		"golang.org/x/time/rate",
	},
	// The private mode's rate limits kept in Redis, shared by replicas:
	// the only importer of go-redis and redis_rate.
	"checker/internal/ratestore": {
		"checker/internal/privateapi",
		"github.com/redis/go-redis/v9", "github.com/go-redis/redis_rate/v10",
	},
	// Test support: a throwaway redis-server on a loopback port.
	"checker/internal/redistest": {},
	// The HTTP server: routes, swaps, documents, the fast path's wiring,
	// and the only importer of prometheus.
	"checker/internal/server": {
		"checker/internal/keyscheme", "checker/internal/oprf", "checker/internal/private",
		"checker/internal/privateapi", "checker/internal/httpfront",
		"checker/internal/rangeapi", "checker/internal/rangeapi/rangeenc",
		"hashset",
		"github.com/prometheus/client_golang/prometheus",
		"github.com/prometheus/client_golang/prometheus/collectors",
		"github.com/prometheus/client_golang/prometheus/promhttp",
	},
	"checker": {
		"checker/phone", "checker/internal/keyscheme", "checker/internal/synth",
		"checker/internal/oprf",
		"checker/internal/private", "checker/internal/private/wire",
		"checker/internal/rangeapi", "checker/internal/rangeapi/rangeenc",
		"checker/internal/ingest", "checker/internal/batch",
		"checker/internal/privateapi", "checker/internal/server", "checker/internal/ratestore",
		"checker/internal/web",
		"hashset",
	},
	// The web page: the page and its assets (web), the check it runs in
	// the browser (webclient, compiled to WebAssembly by web/wasm, which
	// only a GOOS=js build sees), and the generator of that module.
	"checker/internal/web": {"checker/phone"},
	"checker/internal/web/webclient": {
		"checker/phone", "checker/internal/keyscheme", "checker/internal/oprf",
		"checker/internal/private/wire", "checker/internal/rangeapi/rangewire",
	},
	"checker/internal/web/internal/wasmstamp": {},
	// The wire vectors (testdata/vectors) and their generator: a tiny
	// index sealed in memory, answered as a server and read as a client.
	"checker/internal/vectors": {
		"checker/internal/keyscheme", "checker/internal/oprf",
		"checker/internal/private", "checker/internal/private/wire",
		"checker/internal/rangeapi/rangeenc", "checker/internal/rangeapi/rangewire",
		"hashset",
	},
	"checker/internal/vectors/gen": {"checker/internal/vectors"},
	"checker/internal/web/internal/genwasm": {
		"checker/internal/web/internal/wasmstamp",
		"github.com/andybalholm/brotli",
	},
	"cmd/phonecheck": {
		"", // the root package: the embedded demo dataset
		"checker", "checker/phone", "hashset",
		"github.com/schollz/progressbar/v3", "golang.org/x/term",
	},
	"": {"checker", "hashset"},

	// Benchmark tools.
	"bench/floor":         {"checker", "checker/phone", "hashset"},
	"bench/private/mkreq": {"checker", "checker/phone", "hashset"},
	"bench/range/hiccup":  {},
	"bench/range/mkindex": {"checker", "hashset"},

	// The release build: binaries, archives, SBOMs, .debs (it runs nfpm
	// as a program, so nfpm is no dependency of the module).
	"release": {},
}

// sharedImports are the third-party packages more than one package may
// import, and why.
var sharedImports = map[string]string{
	"golang.org/x/sys/unix": "the system call layer: mmap for the index reader, epoll for the HTTP event loops",
	"golang.org/x/sys/cpu":  "CPU features: AVX-512 for r255's kernels and sha512x8's 8-lane compression",
}

// clientPackages are the packages a browser build links: they must not
// depend on these, even indirectly.
var clientPackages = []string{"checker/phone", "checker/internal/keyscheme", "checker/internal/oprf",
	"checker/internal/private/wire", "checker/internal/rangeapi/rangewire", "checker/internal/rangeapi",
	"checker/internal/web/webclient"}

var clientForbidden = []string{
	"net/http",
	"github.com/prometheus/client_golang/prometheus",
	"golang.org/x/sys/unix",
	"github.com/phonecheck/phonecheck/hashset",
	// The server side of the module.
	"github.com/phonecheck/phonecheck/checker",
	"github.com/phonecheck/phonecheck/checker/internal/httpfront",
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc",
}

// httpClients are the client packages that speak HTTP, and so may depend
// on net/http for its client half. go list sees packages, not halves:
// net/http holds both, so what keeps the server half out of them is the
// rest of clientForbidden (no server package of the module, no metrics,
// no event loop) and that they import no server-side package at all.
var httpClients = []string{"checker/internal/rangeapi"}

const modulePath = "github.com/phonecheck/phonecheck"

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func goList(t *testing.T, env []string, args ...string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.Bytes())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel returns a module package's path inside the module ("" for the root)
// and true, or false for a package of another module.
func rel(path string) (string, bool) {
	if path == modulePath {
		return "", true
	}
	if r, ok := strings.CutPrefix(path, modulePath+"/"); ok {
		return r, true
	}
	return "", false
}

// isStd says whether path is a standard library package: its first
// element has no dot.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func TestDependencyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	pkgs := goList(t, nil, "./...")
	importers := map[string][]string{} // third-party package -> module packages importing it
	for _, p := range pkgs {
		name, _ := rel(p.ImportPath)
		allowed, ok := depsRules[name]
		if !ok {
			t.Errorf("package %q is not in depsRules: add it with the imports it may have", name)
			continue
		}
		for _, imp := range p.Imports {
			if isStd(imp) {
				continue
			}
			key := imp
			if r, ok := rel(imp); ok {
				key = r
			} else {
				importers[imp] = append(importers[imp], name)
			}
			if !slices.Contains(allowed, key) {
				t.Errorf("%s imports %s, which depsRules does not allow", displayName(name), imp)
			}
		}
		if strings.HasPrefix(name, "checker/internal/") {
			for _, d := range p.Deps {
				if d == modulePath+"/checker" {
					t.Errorf("%s depends on checker itself: internal packages sit below the facade", name)
				}
			}
		}
	}
	var shared []string
	for imp, by := range importers {
		if len(by) > 1 && sharedImports[imp] == "" {
			shared = append(shared, imp+" by "+strings.Join(by, ", "))
		}
	}
	sort.Strings(shared)
	for _, s := range shared {
		t.Errorf("third-party package imported by more than one package: %s", s)
	}
}

func TestClientPackagesStayLean(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	var args []string
	for _, p := range clientPackages {
		args = append(args, "./"+p)
	}
	for _, env := range [][]string{nil, {"GOOS=js", "GOARCH=wasm"}} {
		for _, p := range goList(t, env, args...) {
			name, _ := rel(p.ImportPath)
			for _, d := range p.Deps {
				if d == "net/http" && slices.Contains(httpClients, name) {
					continue
				}
				if slices.Contains(clientForbidden, d) {
					t.Errorf("%s %s depends on %s", strings.Join(env, " "), p.ImportPath, d)
				}
			}
		}
	}
	// The browser build itself.
	cmd := exec.Command("go", append([]string{"build", "-o", os.DevNull}, args...)...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("GOOS=js GOARCH=wasm go build %v: %v\n%s", args, err, out)
	}
}

func displayName(name string) string {
	if name == "" {
		return "the root package"
	}
	return name
}
