package checker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestExportETagIsManifestHash: a server's ETag for a range is the
// SHA-256 the export's manifest lists for the same range's file, so a CDN
// or client revalidates the same way against either.
func TestExportETagIsManifestHash(t *testing.T) {
	c := testIndex(t, 3000, "")
	dir := t.TempDir()
	if _, err := Export(context.Background(), c, dir, ExportOptions{Bits: []int{12}, Padding: true}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m ExportManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(c, ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{"000", "ABC", "FFF"} {
		f, ok := m.Files["range/"+p]
		if !ok {
			t.Fatalf("manifest has no range/%s", p)
		}
		w := do(t, s, "GET", "/range/"+p, "Add-Padding", "true")
		if got := w.Header().Get("ETag"); got != `"`+f.SHA256+`"` || int64(w.Body.Len()) != f.Size {
			t.Errorf("range %s: served ETag %s, %d bytes; manifest %s, %d bytes", p, got, w.Body.Len(), f.SHA256, f.Size)
		}
	}
}
