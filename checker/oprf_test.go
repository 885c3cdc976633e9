package checker

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/phone"
)

var updateOPRF = flag.Bool("update-oprf", false, "rewrite checker/testdata/oprf/phonecheck-v1.json")

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
	data, err := os.ReadFile("testdata/oprf/rfc9497-ristretto255-voprf.json")
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
	if v.Identifier != OPRFSuite || v.Mode != 1 || !bytes.Equal(mustHex(t, v.GroupDST), dstHashToGroup) {
		t.Fatalf("vectors are for %s mode %d DST %s", v.Identifier, v.Mode, v.GroupDST)
	}
	k, err := DeriveOPRFKey(mustHex(t, v.Seed), mustHex(t, v.KeyInfo))
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := k.sk.MarshalBinary()
	if hex.EncodeToString(sk) != v.SkSm || hex.EncodeToString(k.Public().Bytes()) != v.PkSm {
		t.Fatalf("derived key %x / %x, want %s / %s", sk, k.Public().Bytes(), v.SkSm, v.PkSm)
	}
	for i, tv := range v.Vectors {
		st, blinded, err := blind(k.Public(), tv.Input, tv.Blind)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(blinded, tv.BlindedElement.concat()) {
			t.Errorf("vector %d: blinded %x, want %x", i, blinded, tv.BlindedElement.concat())
		}
		ev, proof, err := k.evaluate(blinded, mustHex(t, tv.Proof.R), true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ev, tv.EvaluationElement.concat()) {
			t.Errorf("vector %d: evaluated %x, want %x", i, ev, tv.EvaluationElement.concat())
		}
		if hex.EncodeToString(proof) != tv.Proof.Proof {
			t.Errorf("vector %d: proof %x, want %s", i, proof, tv.Proof.Proof)
		}
		outs, err := st.finalize(ev, proof)
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

// TestSealerMatchesCircl checks the seal fast path against circl's
// FullEvaluate and against the blind/evaluate/finalize round trip.
func TestSealerMatchesCircl(t *testing.T) {
	k, err := GenerateOPRFKey()
	if err != nil {
		t.Fatal(err)
	}
	s := k.newSealer()
	var inputs [][]byte
	for i := range 40 {
		key := Key("+1415555" + string(rune('0'+i/10)) + "1" + string(rune('0'+i%10)) + "0")
		inputs = append(inputs, oprfInput(key))
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
	st, blinded, err := blind(k.Public(), inputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, proof, err := k.evaluate(blinded, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := st.finalize(ev, proof)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		if !bytes.Equal(outs[i], s.full(in)) {
			t.Fatalf("round trip output %d differs from the sealer's", i)
		}
	}
	// A proof over other elements, or no proof, is refused.
	if _, err := st.finalize(ev, make([]byte, ProofSize)); !errors.Is(err, ErrProof) {
		t.Errorf("zero proof: %v, want ErrProof", err)
	}
	ev[0] ^= 1
	if _, err := st.finalize(ev, proof); err == nil {
		t.Error("tampered evaluation accepted")
	}
}

func TestEvaluateRejectsBadElements(t *testing.T) {
	k, _ := GenerateOPRFKey()
	_, good, _ := blind(k.Public(), [][]byte{[]byte("x")}, nil)
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
		if _, _, err := k.evaluate(b, nil, true); !errors.Is(err, ErrBadElement) {
			t.Errorf("%s: %v, want ErrBadElement", name, err)
		}
	}
	if _, _, err := k.evaluate(good, nil, true); err != nil {
		t.Errorf("good element: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.key")
	k, _ := GenerateOPRFKey()
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
	k2, err := LoadOPRFKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID() != k.ID() || !k2.Public().Equal(k.Public()) {
		t.Fatal("loaded key differs")
	}
	os.Chmod(path, 0o640)
	if _, err := LoadOPRFKey(path); !errors.Is(err, ErrKeyPermissions) {
		t.Errorf("group-readable key: %v, want ErrKeyPermissions", err)
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

// The phonecheck vectors: a fixed key, fixed blinds and proof randomness,
// fictional numbers; the request and response bytes of the wire format.
type phonecheckVectors struct {
	Seed      string           `json:"seed"`
	Info      string           `json:"info"`
	PublicKey string           `json:"public_key"`
	KeyID     string           `json:"key_id"`
	Bits      int              `json:"bucket_bits"`
	Cases     []phonecheckCase `json:"cases"`
}

type phonecheckCase struct {
	E164       string `json:"e164"`
	PlainKey   string `json:"plain_key"`
	Input      string `json:"input"`
	Blind      string `json:"blind"`
	ProofR     string `json:"proof_r"`
	Request    string `json:"request"`
	Response   string `json:"response"`
	Output     string `json:"output"`
	PrivateKey string `json:"private_key"`
	Exposed    bool   `json:"exposed"`
}

// TestPhonecheckVectors reproduces testdata/oprf/phonecheck-v1.json: the
// same key, blinds and randomness give the same bytes on the wire, and the
// client finds what the vectors say. Regenerate with -update-oprf.
func TestPhonecheckVectors(t *testing.T) {
	const path = "testdata/oprf/phonecheck-v1.json"
	seed := bytes.Repeat([]byte{0x70}, 32)
	info := []byte("phonecheck test vectors v1")
	k, err := DeriveOPRFKey(seed, info)
	if err != nil {
		t.Fatal(err)
	}
	exposed := []string{"+14155550132", "+447700900123"}
	notExposed := []string{"+14155550199"}
	ix, _ := testPrivateIndex(t, k, 20, testDS{"demo-a", exposed}, testDS{"demo-b", exposed[:1]})
	got := phonecheckVectors{Seed: hex.EncodeToString(seed), Info: string(info),
		PublicKey: hex.EncodeToString(k.Public().Bytes()), KeyID: k.ID(), Bits: 20}
	for i, e := range append(append([]string{}, exposed...), notExposed...) {
		key := Key(e)
		bl := make([]byte, 32)
		bl[0], bl[1] = byte(i+1), 0x42 // small, canonical scalars
		r := make([]byte, 32)
		r[0], r[1] = byte(i+1), 0x99
		st, elems, err := blind(k.Public(), [][]byte{oprfInput(key)}, [][]byte{bl})
		if err != nil {
			t.Fatal(err)
		}
		req := &privateRequest{bits: 20, prefix: key >> 44, elements: elems}
		reqBytes := appendRequest(nil, req)
		ev, proof, err := k.evaluate(elems, r, true)
		if err != nil {
			t.Fatal(err)
		}
		bk, err := ix.lookupBucket(req.prefix, 20, false)
		if err != nil {
			t.Fatal(err)
		}
		respBytes := appendResponse(nil, &privateResponse{bits: 20, keyID: k.Public().idBytes(), evaluated: ev, proof: proof, bucket: bk})
		resp, err := parseResponse(respBytes)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := st.finalize(resp.evaluated, resp.proof)
		if err != nil {
			t.Fatal(err)
		}
		pc := &PrivateClient{}
		cfg := &PrivateConfig{BucketBits: 20, Datasets: ix.Datasets()}
		for _, s := range ix.Sets() {
			cfg.Sets = append(cfg.Sets, s.Datasets)
		}
		res, err := pc.match(cfg, k.Public(), phone.Number{E164: e}, key, outs[0], resp.bucket)
		if err != nil {
			t.Fatal(err)
		}
		if res.Exposed != (i < len(exposed)) {
			t.Errorf("%s: exposed %v", phone.Redact(e), res.Exposed)
		}
		got.Cases = append(got.Cases, phonecheckCase{
			E164: e, PlainKey: hex.EncodeToString(binary.BigEndian.AppendUint64(nil, key)),
			Input: hex.EncodeToString(oprfInput(key)), Blind: hex.EncodeToString(bl), ProofR: hex.EncodeToString(r),
			Request: hex.EncodeToString(reqBytes), Response: hex.EncodeToString(respBytes),
			Output:     hex.EncodeToString(outs[0]),
			PrivateKey: hex.EncodeToString(binary.BigEndian.AppendUint64(nil, privateKey(key, binary.BigEndian.Uint64(outs[0]), 20))),
			Exposed:    res.Exposed,
		})
	}
	gotJSON, _ := json.MarshalIndent(got, "", "  ")
	gotJSON = append(gotJSON, '\n')
	if *updateOPRF {
		if err := os.WriteFile(path, gotJSON, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-oprf to create)", err)
	}
	if !bytes.Equal(gotJSON, want) {
		t.Errorf("%s differs from what this code produces; if the change is intended, run go test -run PhonecheckVectors -update-oprf", path)
	}
}
