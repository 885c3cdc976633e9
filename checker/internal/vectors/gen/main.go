// Command gen writes the vectors file (go generate ./checker/internal/vectors).
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/phonecheck/phonecheck/checker/internal/vectors"
)

func main() {
	data, err := vectors.Generate()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(vectors.Path()), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(vectors.Path(), data, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s (%d bytes)", vectors.Path(), len(data))
}
