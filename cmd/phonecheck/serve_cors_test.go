//go:build unix

package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestServeAllowOrigin runs 'phonecheck serve' with origins given both
// ways (a repeated flag, a comma-separated list), in any case and with a
// default port: each is let in as browsers spell it, others are not.
func TestServeAllowOrigin(t *testing.T) {
	var errOut lockedBuffer
	url, stop := startServe(t, &errOut, "--allow-origin", "HTTPS://App.Example.org:443, http://localhost:3000",
		"--allow-origin", "https://www.example.org")
	defer stop()
	if want := "phonecheck: web pages of https://app.example.org, http://localhost:3000, https://www.example.org may call this server (CORS)"; !strings.Contains(errOut.String(), want) {
		t.Errorf("start-up lines lack %q:\n%s", want, errOut.String())
	}
	do := func(method, path, origin string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		if method == "OPTIONS" {
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "add-padding")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, origin := range []string{"https://app.example.org", "http://localhost:3000", "https://www.example.org"} {
		if resp := do("OPTIONS", "/range/9E191", origin); resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("preflight from %s: %d %v", origin, resp.StatusCode, resp.Header)
		}
		if resp := do("GET", "/range/9E191", origin); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("GET from %s: %d %v", origin, resp.StatusCode, resp.Header)
		}
	}
	for _, origin := range []string{"https://evil.example.net", "http://localhost:3001", "http://app.example.org"} {
		if resp := do("OPTIONS", "/range/9E191", origin); resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s: %d %v", origin, resp.StatusCode, resp.Header)
		}
		if resp := do("GET", "/range/9E191", origin); resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET from %s: %v", origin, resp.Header)
		}
	}
}
