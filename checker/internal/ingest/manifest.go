package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// Manifest lists the datasets of one build. It is read from JSON or TOML:
//
//	[[dataset]]
//	name   = "whatsapp-2022"
//	date   = "2022-11"
//	source = "forum post, 2022-11-16"
//	region = "EG"          # default region for numbers without a country code
//	column = "phone"       # header name or 1-based index; omit to detect
//	files  = ["eg.csv.zst", "eg-part2.csv.gz"]
//
// File names are relative to the manifest's own directory.
type Manifest struct {
	Datasets []DatasetSpec `json:"datasets" toml:"dataset"`
}

var dateRE = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`)

// ReadManifest reads a manifest from the file at name, in fsys if not nil,
// choosing JSON or TOML by the file's extension (JSON when the content
// starts with "{").
func ReadManifest(fsys fs.FS, name string) (*Manifest, error) {
	var data []byte
	var err error
	if fsys != nil {
		data, err = fs.ReadFile(fsys, name)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("checker: %w", err)
	}
	var m Manifest
	if strings.HasSuffix(name, ".json") || bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("checker: manifest %s: %w", name, err)
		}
	} else {
		md, err := toml.Decode(string(data), &m)
		if err != nil {
			return nil, fmt.Errorf("checker: manifest %s: %w", name, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return nil, fmt.Errorf("checker: manifest %s: unknown key %q", name, und[0].String())
		}
	}
	dir := filepath.Dir(name)
	if fsys != nil {
		dir = path.Dir(name)
	}
	seen := map[string]bool{}
	for i := range m.Datasets {
		d := &m.Datasets[i]
		switch {
		case d.Name == "":
			return nil, fmt.Errorf("checker: manifest %s: dataset %d has no name", name, i+1)
		case seen[d.Name]:
			return nil, fmt.Errorf("checker: manifest %s: dataset name %q used twice", name, d.Name)
		case len(d.Files) == 0:
			return nil, fmt.Errorf("checker: manifest %s: dataset %q has no files", name, d.Name)
		case d.Date != "" && !dateRE.MatchString(d.Date):
			return nil, fmt.Errorf("checker: manifest %s: dataset %q: date %q is not YYYY, YYYY-MM or YYYY-MM-DD", name, d.Name, d.Date)
		}
		seen[d.Name] = true
		d.Region = strings.ToUpper(d.Region)
		for j, f := range d.Files {
			if fsys != nil {
				d.Files[j] = path.Join(dir, f)
			} else if !filepath.IsAbs(f) {
				d.Files[j] = filepath.Join(dir, f)
			}
		}
	}
	if len(m.Datasets) == 0 {
		return nil, fmt.Errorf("checker: manifest %s lists no dataset", name)
	}
	return &m, nil
}

// ValidDate reports whether s is a dataset date: YYYY, YYYY-MM or YYYY-MM-DD.
func ValidDate(s string) bool { return dateRE.MatchString(s) }
