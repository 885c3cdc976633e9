package oprf

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	voprf "github.com/cloudflare/circl/oprf"
)

// keyFile is the JSON of a key file. Its own fields make it
// self-describing; the public key and id are checked against the private
// key on load, which catches a damaged file.
type keyFile struct {
	Format     string `json:"format"` // "phonecheck-oprf-key"
	Version    int    `json:"version"`
	Suite      string `json:"suite"`
	Mode       string `json:"mode"` // "voprf"
	KeyID      string `json:"key_id"`
	PublicKey  string `json:"public_key"`  // hex, 32 bytes
	PrivateKey string `json:"private_key"` // hex, 32 bytes, little-endian scalar
	Created    string `json:"created,omitempty"`
}

const keyFileFormat = "phonecheck-oprf-key"

// MarshalKeyFile returns the bytes of a key file for k.
func (k *Key) MarshalKeyFile(created string) ([]byte, error) {
	raw := k.ev.Bytes()
	defer clear(raw)
	data, err := json.MarshalIndent(keyFile{
		Format: keyFileFormat, Version: 1, Suite: Suite, Mode: "voprf",
		KeyID: k.ID(), PublicKey: hex.EncodeToString(k.pub.raw[:]),
		PrivateKey: hex.EncodeToString(raw), Created: created,
	}, "", "  ")
	return append(data, '\n'), err
}

// ParseKeyFile decodes the bytes of a key file.
func ParseKeyFile(data []byte) (*Key, error) {
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("%w: not JSON", ErrKeyFile)
	}
	if kf.Format != keyFileFormat || kf.Version != 1 {
		return nil, fmt.Errorf("%w: format %q version %d, want %q version 1", ErrKeyFile, kf.Format, kf.Version, keyFileFormat)
	}
	if kf.Suite != Suite || kf.Mode != "voprf" {
		return nil, fmt.Errorf("%w: suite %q mode %q, want %q voprf", ErrKeyFile, kf.Suite, kf.Mode, Suite)
	}
	raw, err := hex.DecodeString(kf.PrivateKey)
	if err != nil || len(raw) != ScalarSize {
		return nil, fmt.Errorf("%w: private_key is not 32 hex bytes", ErrKeyFile)
	}
	sk := new(voprf.PrivateKey)
	if err := sk.UnmarshalBinary(suite, raw); err != nil {
		return nil, fmt.Errorf("%w: private_key is not a valid scalar", ErrKeyFile)
	}
	k, err := newKey(sk)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if kf.PublicKey != hex.EncodeToString(k.pub.raw[:]) || kf.KeyID != k.ID() {
		return nil, fmt.Errorf("%w: public_key or key_id does not match private_key", ErrKeyFile)
	}
	return k, nil
}

// WriteKeyFile writes k to a new file at path, readable and writable by
// its owner only. It refuses to overwrite an existing file: replacing a key
// orphans every index sealed under it.
func (k *Key) WriteKeyFile(path, created string) error {
	data, err := k.MarshalKeyFile(created)
	if err != nil {
		return err
	}
	// Write a temporary file, then link it into place: a crash never
	// leaves a partial key at path, and link, unlike rename, fails if path
	// exists.
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("checker: %s: %w (refusing to replace a key)", path, fs.ErrExist)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil { // umask aside, be explicit
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("checker: %s: %w (refusing to replace a key)", path, fs.ErrExist)
		}
		return err
	}
	return nil
}

// LoadKey reads a key file. On Unix it refuses a file that group or
// others may read or write ([ErrKeyPermissions]): the key is what keeps
// a private index from being harvested.
func LoadKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 && !inCredentials(path) {
		return nil, &fs.PathError{Op: "load key", Path: path,
			Err: fmt.Errorf("%w (mode %#o; run chmod 600 %s)", ErrKeyPermissions, fi.Mode().Perm(), filepath.Base(path))}
	}
	if fi.Size() > 1<<16 {
		return nil, fmt.Errorf("%s: %w: %d bytes", path, ErrKeyFile, fi.Size())
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	k, err := ParseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// inCredentials reports whether path is a credential systemd handed the
// service (LoadCredential=): a file in $CREDENTIALS_DIRECTORY. systemd
// makes that directory the service's alone and grants it read access to
// the file, with an ACL where the file system has them, which shows in
// the mode as group bits (0440): the mode says nothing there, so it is
// not checked.
func inCredentials(path string) bool {
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(d, abs)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel)
}
