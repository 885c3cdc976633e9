package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckAgainstStaticHosts: 'check --server' against a plain export on
// static hosts that answer a missing file in the ways real ones do: 404
// (nginx, a plain file server), 403 (an object store whose bucket may not
// be listed, as S3 answers), and a 200 page for every path (a host with
// an HTML fallback). The key endpoint is such a missing file, and each
// must lead to a plain range check, not to an error.
func TestCheckAgainstStaticHosts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "exp")
	if code, _, errOut := runPC(t, "export", "--quiet", "--out", dir, "--bits", "12"); code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	for _, host := range []struct {
		name    string
		missing func(w http.ResponseWriter)
	}{
		{"404", func(w http.ResponseWriter) { http.Error(w, "not found", http.StatusNotFound) }},
		{"403", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code></Error>`))
		}},
		{"html fallback", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<!doctype html><title>app</title>"))
		}},
	} {
		t.Run(host.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/")))
				if fi, err := os.Stat(p); err != nil || fi.IsDir() {
					host.missing(w)
					return
				}
				http.ServeFile(w, r, p)
			}))
			defer srv.Close()
			code, out, errOut := runPC(t, "check", "--server", srv.URL, "+1 415 555 0132")
			if code != 0 || !strings.Contains(out, "+14155550132 (US) is EXPOSED: it is in 2 datasets") || !strings.Contains(out+errOut, "Plain mode: sent prefix ") {
				t.Errorf("exposed number: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			code, out, errOut = runPC(t, "check", "--server", srv.URL, "+1 415 555 0199")
			if code != 0 || !strings.Contains(out, "+14155550199 (US) is not in any of the 2 datasets") {
				t.Errorf("unexposed number: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
}
