package oprf

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hexList is RFC 9497's comma-separated hex.
type hexList [][]byte

func (h *hexList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, part := range strings.Split(s, ",") {
		v, err := hex.DecodeString(part)
		if err != nil {
			return err
		}
		*h = append(*h, v)
	}
	return nil
}

func (h hexList) concat() []byte { return bytes.Join(h, nil) }

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC9497Vectors runs the RFC 9497 ristretto255-SHA512 VOPRF vectors
// (appendix A.1.2) through this package's own code paths: key derivation,
// blinding, batch evaluation with its proof, proof verification and
// finalization.
func TestRFC9497Vectors(t *testing.T) {
	data, err := os.ReadFile("testdata/rfc9497-ristretto255-voprf.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Identifier string `json:"identifier"`
		Mode       int    `json:"mode"`
		GroupDST   string `json:"groupDST"`
		SkSm       string `json:"skSm"`
		PkSm       string `json:"pkSm"`
		Seed       string `json:"seed"`
		KeyInfo    string `json:"keyInfo"`
		Vectors    []struct {
			Batch             int     `json:"Batch"`
			Blind             hexList `json:"Blind"`
			BlindedElement    hexList `json:"BlindedElement"`
			EvaluationElement hexList `json:"EvaluationElement"`
			Input             hexList `json:"Input"`
			Output            hexList `json:"Output"`
			Proof             struct {
				Proof string `json:"proof"`
				R     string `json:"r"`
			} `json:"Proof"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.Identifier != Suite || v.Mode != 1 || !bytes.Equal(mustHex(t, v.GroupDST), dstHashToGroup) {
		t.Fatalf("vectors are for %s mode %d DST %s", v.Identifier, v.Mode, v.GroupDST)
	}
	k, err := DeriveKey(mustHex(t, v.Seed), mustHex(t, v.KeyInfo))
	if err != nil {
		t.Fatal(err)
	}
	sk := k.ev.Bytes()
	if hex.EncodeToString(sk) != v.SkSm || hex.EncodeToString(k.Public().Bytes()) != v.PkSm {
		t.Fatalf("derived key %x / %x, want %s / %s", sk, k.Public().Bytes(), v.SkSm, v.PkSm)
	}
	for i, tv := range v.Vectors {
		st, blinded, err := Blind(k.Public(), tv.Input, tv.Blind)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(blinded, tv.BlindedElement.concat()) {
			t.Errorf("vector %d: blinded %x, want %x", i, blinded, tv.BlindedElement.concat())
		}
		ev, proof, err := k.Evaluate(blinded, mustHex(t, tv.Proof.R), true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ev, tv.EvaluationElement.concat()) {
			t.Errorf("vector %d: evaluated %x, want %x", i, ev, tv.EvaluationElement.concat())
		}
		if hex.EncodeToString(proof) != tv.Proof.Proof {
			t.Errorf("vector %d: proof %x, want %s", i, proof, tv.Proof.Proof)
		}
		outs, err := st.Finalize(ev, proof)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if !bytes.Equal(bytes.Join(outs, nil), tv.Output.concat()) {
			t.Errorf("vector %d: outputs differ", i)
		}
		s := k.newSealer()
		for j, in := range tv.Input {
			if !bytes.Equal(s.full(in), tv.Output[j]) {
				t.Errorf("vector %d: sealer output %d differs", i, j)
			}
		}
	}
}

// TestSealerMatchesCircl checks the circl-based reference sealer against
// circl's FullEvaluate and against the blind/evaluate/finalize round trip.
func TestSealerMatchesCircl(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := k.newSealer()
	var inputs [][]byte
	for i := range 40 {
		key := uint64(i+1) * 0x9e3779b97f4a7c15
		inputs = append(inputs, Input(key))
		want, err := k.circlFullEvaluate(inputs[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := s.full(inputs[i]); !bytes.Equal(got, want) {
			t.Fatalf("sealer %x, circl %x", got, want)
		}
		if got := s.output(key); got != binary.BigEndian.Uint64(want) {
			t.Fatalf("sealer output %x, circl %x", got, want[:8])
		}
	}
	st, blinded, err := Blind(k.Public(), inputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, proof, err := k.Evaluate(blinded, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := st.Finalize(ev, proof)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		if !bytes.Equal(outs[i], s.full(in)) {
			t.Fatalf("round trip output %d differs from the sealer's", i)
		}
	}
	// A proof over other elements, or no proof, is refused.
	if _, err := st.Finalize(ev, make([]byte, ProofSize)); !errors.Is(err, ErrProof) {
		t.Errorf("zero proof: %v, want ErrProof", err)
	}
	ev[0] ^= 1
	if _, err := st.Finalize(ev, proof); err == nil {
		t.Error("tampered evaluation accepted")
	}
}

func TestEvaluateRejectsBadElements(t *testing.T) {
	k, _ := GenerateKey()
	_, good, _ := Blind(k.Public(), [][]byte{[]byte("x")}, nil)
	bad := map[string][]byte{
		"identity":      make([]byte, 32),
		"non-canonical": bytes.Repeat([]byte{0xff}, 32),
		"negative s":    append([]byte{1}, make([]byte, 31)...),
		"short":         good[:31],
		"long":          append(append([]byte{}, good...), 0),
		"empty":         nil,
		"second bad":    append(append([]byte{}, good...), make([]byte, 32)...),
	}
	for name, b := range bad {
		if _, _, err := k.Evaluate(b, nil, true); !errors.Is(err, ErrBadElement) {
			t.Errorf("%s: %v, want ErrBadElement", name, err)
		}
	}
	if _, _, err := k.Evaluate(good, nil, true); err != nil {
		t.Errorf("good element: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.key")
	k, _ := GenerateKey()
	if err := k.WriteKeyFile(path, "2026-11-01"); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %#o, want 0600", fi.Mode().Perm())
	}
	if err := k.WriteKeyFile(path, ""); !errors.Is(err, os.ErrExist) {
		t.Errorf("overwrite: %v, want ErrExist", err)
	}
	k2, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID() != k.ID() || !k2.Public().Equal(k.Public()) {
		t.Fatal("loaded key differs")
	}
	os.Chmod(path, 0o640)
	if _, err := LoadKey(path); !errors.Is(err, ErrKeyPermissions) {
		t.Errorf("group-readable key: %v, want ErrKeyPermissions", err)
	}
	// A systemd credential (LoadCredential=) may show group bits, from
	// the ACL systemd grants the service: in $CREDENTIALS_DIRECTORY the
	// mode is not checked; elsewhere it still is.
	creds := t.TempDir()
	cpath := filepath.Join(creds, "server.key")
	raw, _ := os.ReadFile(path)
	if err := os.WriteFile(cpath, raw, 0o440); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	if k3, err := LoadKey(cpath); err != nil || k3.ID() != k.ID() {
		t.Errorf("a 0440 key in $CREDENTIALS_DIRECTORY: %v", err)
	}
	if _, err := LoadKey(path); !errors.Is(err, ErrKeyPermissions) {
		t.Errorf("a group-readable key outside $CREDENTIALS_DIRECTORY: %v, want ErrKeyPermissions", err)
	}
	if _, err := LoadKey(filepath.Join(creds, "..", filepath.Base(dir), "k.key")); !errors.Is(err, ErrKeyPermissions) {
		t.Errorf("a path that climbs out of $CREDENTIALS_DIRECTORY: %v, want ErrKeyPermissions", err)
	}
	os.Chmod(path, 0o600)
	data, _ := os.ReadFile(path)
	var kf map[string]any
	json.Unmarshal(data, &kf)
	kf["key_id"] = "0000000000000000"
	bad, _ := json.Marshal(kf)
	if _, err := ParseKeyFile(bad); !errors.Is(err, ErrKeyFile) {
		t.Errorf("wrong key id: %v, want ErrKeyFile", err)
	}
	if _, err := ParseKeyFile([]byte("{")); !errors.Is(err, ErrKeyFile) {
		t.Errorf("not JSON: %v", err)
	}
}
