// Package wasmstamp says which sources the page's committed module was
// built from: a digest of every file of the module's own packages that a
// GOOS=js GOARCH=wasm build of it compiles, and of the versions of the
// other modules it links. The generator writes the stamp beside the
// module; a test recomputes it and fails when the sources moved on.
package wasmstamp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Pkg is the module's main package, relative to the web package.
const Pkg = "./wasm"

// Stamp is the stamp file's content.
type Stamp struct {
	Inputs string `json:"inputs"` // the digest of Digest
	Go     string `json:"go"`     // the toolchain that built the module (not compared)
}

// Digest returns the digest of the module's inputs, for the package at
// Pkg under dir (the web package's directory).
func Digest(dir string) (string, error) {
	cmd := exec.Command("go", "list", "-deps", "-json", Pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %v\n%s", Pkg, err, stderr.Bytes())
	}
	type listed struct {
		ImportPath string
		Dir        string
		Standard   bool
		GoFiles    []string
		EmbedFiles []string
		Module     *struct {
			Path    string
			Version string
			Main    bool
		}
	}
	var lines []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			return "", err
		}
		switch {
		case p.Standard:
		case p.Module != nil && p.Module.Main:
			for _, f := range append(slices.Clone(p.GoFiles), p.EmbedFiles...) {
				b, err := os.ReadFile(filepath.Join(p.Dir, f))
				if err != nil {
					return "", err
				}
				sum := sha256.Sum256(b)
				lines = append(lines, p.ImportPath+"/"+f+" "+hex.EncodeToString(sum[:]))
			}
		case p.Module != nil:
			lines = append(lines, p.Module.Path+"@"+p.Module.Version)
		}
	}
	slices.Sort(lines)
	lines = slices.Compact(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:]), nil
}
