// Command genwasm builds the web page's module (go generate in
// checker/internal/web): phonecheck.wasm for GOOS=js GOARCH=wasm, stripped
// and with paths trimmed, precompressed with gzip (best) and brotli
// (quality 11), Go's wasm_exec.js from the toolchain that built it, and
// the stamp that says which sources it was built from.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/andybalholm/brotli"

	"github.com/phonecheck/phonecheck/checker/internal/web/internal/wasmstamp"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("genwasm: ")
	tmp, err := os.MkdirTemp("", "genwasm-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	wasm := filepath.Join(tmp, "phonecheck.wasm")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", wasm, wasmstamp.Pkg)
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		log.Fatal(err)
	}
	raw, err := os.ReadFile(wasm)
	if err != nil {
		log.Fatal(err)
	}

	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	var br bytes.Buffer
	bw := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: 11, LGWin: 24})
	bw.Write(raw)
	if err := bw.Close(); err != nil {
		log.Fatal(err)
	}

	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		log.Fatal(err)
	}
	execJS, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		log.Fatal(err)
	}
	version, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		log.Fatal(err)
	}
	digest, err := wasmstamp.Digest(".")
	if err != nil {
		log.Fatal(err)
	}
	stamp, _ := json.MarshalIndent(wasmstamp.Stamp{Inputs: digest, Go: strings.TrimSpace(string(version))}, "", "  ")

	for name, b := range map[string][]byte{
		"phonecheck.wasm.gz":    gz.Bytes(),
		"phonecheck.wasm.br":    br.Bytes(),
		"wasm_exec.js":          execJS,
		"phonecheck.wasm.stamp": append(stamp, '\n'),
	} {
		if err := os.WriteFile(filepath.Join("static", name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("genwasm: phonecheck.wasm %d bytes, gzip %d, brotli %d\n", len(raw), gz.Len(), br.Len())
}
