//go:build unix

package rangeapi_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
)

// TestClientAgainstNginx runs a real nginx serving an export. It skips
// when nginx is missing, except in CI (CI=true), where it fails.
func TestClientAgainstNginx(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, serr := os.Stat(p); serr == nil {
				nginx, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nginx not found; .ci/run installs it")
		}
		t.Skip("nginx not found")
	}
	idx := testIndex(t, 5000)
	root := t.TempDir()
	export := filepath.Join(root, "export")
	if _, err := rangeenc.Export(context.Background(), idx, export, rangeenc.ExportOptions{Bits: []int{12}, Padding: true, Mode: 0o644}, exportDocs(idx)); err != nil {
		t.Fatal(err)
	}
	// nginx workers drop privileges: make the tree readable to them.
	for _, d := range []string{filepath.Dir(root), root, export} {
		os.Chmod(d, 0o755)
	}
	port := freePort(t)
	conf := filepath.Join(root, "nginx.conf")
	os.MkdirAll(filepath.Join(root, "tmp"), 0o755)
	cfg := strings.NewReplacer("@DIR@", root, "@ROOT@", export, "@PORT@", strconv.Itoa(port)).Replace(`
worker_processes 1;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	default_type text/plain;
	client_body_temp_path @DIR@/tmp;
	proxy_temp_path @DIR@/tmp;
	fastcgi_temp_path @DIR@/tmp;
	uwsgi_temp_path @DIR@/tmp;
	scgi_temp_path @DIR@/tmp;
	server {
		listen 127.0.0.1:@PORT@;
		root @ROOT@;
		location / { try_files $uri =404; }
	}
}
`)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// nginx's output goes to a file, not a pipe: a pipe held open by a
	// worker would block Wait. The master and its workers get a process
	// group of their own, so that all of them can be stopped together.
	logf, err := os.Create(filepath.Join(root, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(nginx, "-c", conf, "-p", root, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// SIGQUIT: graceful stop, the master reaps its workers.
		syscall.Kill(cmd.Process.Pid, syscall.SIGQUIT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/v1/datasets")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(filepath.Join(root, "error.log"))
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("nginx did not come up: %v\n%s\n%s", err, out, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cl := rangeapi.NewClient(base, rangeapi.Options{})
	checkClient(t, cl, false)
	res, _ := cl.Check(context.Background(), testBoth[0], "")
	if res.Bits != 12 {
		t.Errorf("the export offers 12 bits only; the client sent %d", res.Bits)
	}
}
