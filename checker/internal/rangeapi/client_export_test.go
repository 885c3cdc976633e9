package rangeapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
)

// TestClientAgainstExport serves an export with net/http's file server.
// (That every file is what a server answers with Add-Padding is checked
// where the server is.)
func TestClientAgainstExport(t *testing.T) {
	idx := testIndex(t, 5000)
	dir := t.TempDir()
	st, err := rangeenc.Export(context.Background(), idx, dir, rangeenc.ExportOptions{Bits: []int{12}, Padding: true}, exportDocs(idx))
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 1<<12 {
		t.Errorf("%d files", st.Files)
	}
	var man rangeenc.ExportManifest
	data, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(data, &man); err != nil || man.Format != rangeenc.ExportFormat || !slices.Equal(man.Bits, []int{12}) || !man.Padding {
		t.Errorf("manifest: %+v %v", man, err)
	}
	ts := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer ts.Close()
	checkClient(t, rangeapi.NewClient(ts.URL, rangeapi.Options{}), false)
}
