//go:build linux

package main

// The deployment of issue 22 end to end: two 'serve --private' replicas
// (subprocesses: serve keeps global flags and signal handlers) sharing
// one Redis, behind nginx. Linux only: clients dial from other loopback
// addresses (127.0.0.2, ...), which other systems do not configure.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker"
)

// e2eLookPath finds a program, or skips the test (fails it under CI=true,
// where .ci/run installs it).
func e2eLookPath(t testing.TB, name string, also ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range also {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing, and CI=true: .ci/run installs it", name)
	}
	t.Skipf("%s is missing", name)
	return ""
}

func e2eFreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// e2eRedis is a redis-server that can be killed and started again on
// the same port (checker/internal/redistest, which this package cannot
// import, does the same).
type e2eRedis struct {
	t    testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func (r *e2eRedis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *e2eRedis) command(line string) string {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte(line + "\r\n"))
	buf := make([]byte, 4096)
	n, _ := c.Read(buf)
	return string(buf[:n])
}

func (r *e2eRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.done)
	for deadline := time.Now().Add(10 * time.Second); r.command("PING") != "+PONG\r\n"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on port %d did not answer within 10 s", r.port)
		}
	}
}

func (r *e2eRedis) kill() {
	if r.cmd != nil {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd = nil
	}
}

// e2eIndex builds the demo index, a key, and the index sealed under it,
// and returns the key's and the sealed index's paths.
func e2eIndex(t testing.TB) (string, string) {
	t.Helper()
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, args := range [][]string{
		{"build", "--quiet", "--out", p("plain.idx"), "--manifest", filepath.Join("..", "..", "testdata", "demo", "manifest.toml")},
		{"keygen", "--out", p("server.key")},
		{"seal", "--quiet", "--key", p("server.key"), "--in", p("plain.idx"), "--out", p("private.idx")},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errOut); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, errOut.String())
		}
	}
	return p("server.key"), p("private.idx")
}

// e2eReplica is 'phonecheck serve' run as a subprocess: the test binary
// itself, which TestMain (testscript) runs as the CLI when its argv[0]
// is "phonecheck".
type e2eReplica struct {
	url    string
	cmd    *exec.Cmd
	done   chan struct{}
	stderr *lockedBuffer
}

var e2eListening = regexp.MustCompile(`serving private queries over .* on http://(127\.0\.0\.1:[0-9]+)\n`)

func e2eStartReplica(t testing.TB, args ...string) *e2eReplica {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &e2eReplica{stderr: new(lockedBuffer), done: make(chan struct{})}
	r.cmd = &exec.Cmd{Path: exe, Args: append([]string{"phonecheck", "serve", "--addr", "127.0.0.1:0"}, args...),
		Stdout: io.Discard, Stderr: r.stderr}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(r.kill)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := e2eListening.FindStringSubmatch(r.stderr.String()); m != nil {
			r.url = "http://" + m[1]
			return r
		}
		select {
		case <-r.done:
			t.Fatalf("serve exited at start: %s", r.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start within 15 s: %s", r.stderr.String())
		}
	}
}

// kill: SIGKILL, as a crash.
func (r *e2eReplica) kill() {
	r.cmd.Process.Kill()
	<-r.done
}

func (r *e2eReplica) port() string { return strings.TrimPrefix(r.url, "http://127.0.0.1:") }

// e2eStartNginx runs nginx in front of the replicas, round robin, and
// returns its URL.
func e2eStartNginx(t testing.TB, nginx string, replicas ...*e2eReplica) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // the workers drop privileges
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	port := e2eFreePort(t)
	var servers strings.Builder
	for _, r := range replicas {
		fmt.Fprintf(&servers, "\t\tserver 127.0.0.1:%s;\n", r.port())
	}
	cfg := strings.NewReplacer("@DIR@", dir, "@PORT@", strconv.Itoa(port), "@SERVERS@", servers.String()).Replace(`
worker_processes 1;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
events { worker_connections 1024; }
http {
	access_log @DIR@/access.log;
	client_body_temp_path @DIR@/tmp;
	proxy_temp_path @DIR@/tmp;
	fastcgi_temp_path @DIR@/tmp;
	uwsgi_temp_path @DIR@/tmp;
	scgi_temp_path @DIR@/tmp;
	upstream phonecheck {
@SERVERS@		keepalive 32;
	}
	server {
		listen 127.0.0.1:@PORT@;
		location / {
			proxy_pass http://phonecheck;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_next_upstream error timeout non_idempotent;
		}
	}
}
`)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Output to a file, not a pipe a worker would hold open; a process
	// group of its own, so that the workers can be killed with it.
	logf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-c", conf, "-p", dir, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("nginx did not come up: %v\n%s\n%s", err, out, logs)
		}
	}
}

// e2eHTTP is an HTTP client whose connections come from the loopback
// address ip, as a client at that address.
func e2eHTTP(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}
}

// e2eClient is a private-mode client of base at ip: no wait on 429, and
// no retry of its own (what nginx does not absorb shows). It fetches the
// server's configuration once: its queries after the first are
// consecutive requests, which round robin alternates between replicas.
func e2eClient(base, ip string) *checker.PrivateClient {
	return &checker.PrivateClient{BaseURL: base, HTTP: e2eHTTP(ip), MaxWait: -1, TransientRetries: -1}
}

func e2eCheck(pc *checker.PrivateClient, number string) (checker.PrivateResult, error) {
	return pc.Check(context.Background(), number, "")
}

func e2eStatus(err error) int {
	var se *checker.ServerError
	switch {
	case err == nil:
		return 200
	case errors.As(err, &se):
		return se.Status
	default:
		return -1
	}
}

// e2eMetric reads one unlabelled counter from a replica's /metrics.
func e2eMetric(t testing.TB, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q", name, sc.Text())
			}
			return f
		}
	}
	t.Fatalf("%s/metrics lacks %s", base, name)
	return 0
}

// TestDeployEndToEnd: two replicas sharing one Redis behind nginx, as the
// deployment of issue 22 runs them. A client gets one allowance across both replicas
// and another client its own; answers are right through either; an
// X-Forwarded-For sent straight to a replica names nobody; killing a
// replica loses no request (nginx retries it on the other); and while
// Redis is down each replica limits locally, until Redis is back and the
// allowance is shared again.
func TestDeployEndToEnd(t *testing.T) {
	nginx := e2eLookPath(t, "nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx")
	rs := &e2eRedis{t: t, bin: e2eLookPath(t, "redis-server")}
	rs.port = e2eFreePort(t)
	rs.start()
	t.Cleanup(rs.kill)
	key, idx := e2eIndex(t)
	args := []string{"--private", "--key", key, "--index", idx, "--rate-store", rs.URL(), "--replicas", "2",
		"--trusted-proxy", "127.0.0.1", "--rate", "0.001", "--burst", "2", "--max-elements", "2"}
	a, b := e2eStartReplica(t, args...), e2eStartReplica(t, args...)
	replicas := []*e2eReplica{a, b}
	lb := e2eStartNginx(t, nginx, a, b)

	const exposed, unexposed = "+1 415 555 0132", "+1 415 555 0199"
	// want checks the statuses of queries from ip through base, one
	// element each, on one connection pool.
	want := func(what, base, ip string, statuses ...int) {
		t.Helper()
		pc := e2eClient(base, ip)
		for i, st := range statuses {
			if _, err := e2eCheck(pc, exposed); e2eStatus(err) != st {
				t.Errorf("%s: query %d from %s: %v (status %d), want %d", what, i+1, ip, err, e2eStatus(err), st)
			}
		}
	}
	evaluated := func() []float64 {
		return []float64{e2eMetric(t, a.url, "phonecheck_private_elements_total"), e2eMetric(t, b.url, "phonecheck_private_elements_total")}
	}

	// Answers through either replica: round robin sends these four
	// queries (from two clients, two each) to both.
	before := evaluated()
	for _, ip := range []string{"127.0.0.3", "127.0.0.4"} {
		pc := e2eClient(lb, ip)
		res, err := e2eCheck(pc, exposed)
		if err != nil || !res.Exposed || res.Number.E164 != "+14155550132" {
			t.Errorf("%s via nginx: %s: %+v, %v; want exposed", ip, exposed, res, err)
		}
		res, err = e2eCheck(pc, unexposed)
		if err != nil || res.Exposed {
			t.Errorf("%s via nginx: %s: %+v, %v; want not exposed", ip, unexposed, res, err)
		}
	}
	for i, n := range evaluated() {
		if n <= before[i] {
			t.Errorf("replica %d evaluated nothing of four queries through nginx (round robin)", i+1)
		}
	}

	// One allowance across both replicas: the third and fourth queries,
	// on both replicas, are refused.
	before = evaluated()
	want("shared allowance", lb, "127.0.0.2", 200, 200, 429, 429)
	if got := evaluated(); got[0]+got[1]-before[0]-before[1] != 2 {
		t.Errorf("elements evaluated for a client of burst 2: %v then %v", before, got)
	}
	// Another client has its own.
	want("another client", lb, "127.0.0.5", 200)

	// Straight to a replica, a client's X-Forwarded-For names nobody: the
	// exhausted 127.0.0.2 claiming to be 127.0.0.9 is still 127.0.0.2, and
	// 127.0.0.9 still has its whole allowance.
	for _, r := range replicas {
		pc := e2eClient(r.url, "127.0.0.2")
		pc.HTTP.Transport = xffRoundTripper{"127.0.0.9", pc.HTTP.Transport}
		if _, err := e2eCheck(pc, exposed); e2eStatus(err) != 429 {
			t.Errorf("%s from 127.0.0.2 with X-Forwarded-For 127.0.0.9: %v, want 429", r.url, err)
		}
	}
	want("the address claimed", lb, "127.0.0.9", 200, 200, 429)

	// Redis down: each replica limits on its own (a fresh client gets its
	// answer, not a 500) and counts the failures.
	rs.kill()
	want("Redis down", lb, "127.0.0.10", 200)
	if n := e2eMetric(t, a.url, "phonecheck_ratestore_errors_total") + e2eMetric(t, b.url, "phonecheck_ratestore_errors_total"); n <= 0 {
		t.Errorf("phonecheck_ratestore_errors_total %v with Redis down", n)
	}
	// Redis back (empty) on its port: once each replica has gone back to
	// it (after the store's 1 s recheck: probes from fresh addresses
	// until one leaves a key in Redis), the allowance is shared again.
	rs.start()
	probe := 0
	for i, r := range replicas {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			keys := rs.command("DBSIZE")
			probe++
			ip := fmt.Sprintf("127.0.1.%d", probe)
			if _, err := e2eCheck(e2eClient(r.url, ip), exposed); err != nil {
				t.Fatalf("probe from %s to replica %d: %v", ip, i+1, err)
			}
			if rs.command("DBSIZE") != keys {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d did not go back to Redis within 10 s", i+1)
			}
		}
	}
	want("Redis back", lb, "127.0.0.11", 200, 200, 429, 429)

	// A replica killed under load (four clients, each sending GETs and,
	// one request in three, a query from a fresh address, so that a
	// retried query is not refused for a token its first try spent):
	// nginx retries on the other what the dead one failed or never got,
	// so no request is lost.
	var sent atomic.Int64
	killed := make(chan struct{})
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := e2eHTTP("127.0.0.1")
			for i := range 30 {
				if i == 25 {
					<-killed // the last requests after the kill at least
				}
				sent.Add(1)
				if i%3 == 0 {
					ip := fmt.Sprintf("127.0.%d.%d", 2+w, i)
					if _, err := e2eCheck(e2eClient(lb, ip), exposed); err != nil {
						errc <- fmt.Errorf("query from %s: %v", ip, err)
						return
					}
					continue
				}
				path := []string{"/healthz", checker.PrivateKeyPath}[i%2]
				resp, err := hc.Get(lb + path)
				if err != nil {
					errc <- fmt.Errorf("GET %s: %v", path, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errc <- fmt.Errorf("GET %s: %s", path, resp.Status)
					return
				}
			}
		}()
	}
	for sent.Load() < 40 && len(errc) == 0 {
		time.Sleep(time.Millisecond)
	}
	b.kill()
	close(killed)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("with replica 2 killed under load: %v", err)
	}
	want("one replica left", lb, "127.0.0.12", 200, 200, 429)
	if t.Failed() {
		for i, r := range replicas {
			t.Logf("replica %d: %s", i+1, r.stderr.String())
		}
	}
}

// xffRoundTripper sets X-Forwarded-For, as a client naming someone else.
type xffRoundTripper struct {
	xff  string
	next http.RoundTripper
}

func (x xffRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", x.xff)
	return x.next.RoundTrip(r)
}

// BenchmarkDeployThroughNginx: evaluations per second through nginx in
// front of one or two replicas without a rate limit, one element per
// request (PrivateClient.Check), from concurrent clients. It measures
// this machine, where nginx, the replicas and the load share the cores:
//
//	go test ./cmd/phonecheck -run '^$' -bench DeployThroughNginx -benchtime 5s
func BenchmarkDeployThroughNginx(bm *testing.B) {
	nginx := e2eLookPath(bm, "nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx")
	key, idx := e2eIndex(bm)
	for _, n := range []int{1, 2} {
		bm.Run("replicas="+strconv.Itoa(n), func(b *testing.B) {
			var rs []*e2eReplica
			for range n {
				rs = append(rs, e2eStartReplica(b, "--private", "--key", key, "--index", idx, "--rate", "0"))
			}
			lb := e2eStartNginx(b, nginx, rs...)
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			var mu sync.Mutex
			var failed error
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				pc := &checker.PrivateClient{BaseURL: lb, HTTP: hc, MaxWait: -1, TransientRetries: -1}
				for pb.Next() {
					if _, err := pc.Check(context.Background(), "+1 415 555 0132", ""); err != nil {
						mu.Lock()
						failed = err
						mu.Unlock()
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "evaluations/s")
			if failed != nil {
				b.Fatal(failed)
			}
		})
	}
}
