package checker

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"

	voprf "github.com/cloudflare/circl/oprf"
	"github.com/phonecheck/phonecheck/checker/phone"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
)

var updateOPRF = flag.Bool("update-oprf", false, "rewrite checker/testdata/oprf/phonecheck-v1.json")

// The helpers of the tests that speak the private mode's protocol: the
// client's blinding and finalization, and the server's evaluation and
// F_k, through the OPRF package.

// oprfInput returns the OPRF input of a plain key.
func oprfInput(key uint64) []byte { return oprf.Input(key) }

// blind blinds the inputs for evaluation under pub; blinds, if not nil,
// are fixed 32-byte scalars (test vectors only).
func blind(pub *OPRFPublicKey, inputs [][]byte, blinds [][]byte) (*oprf.BlindState, []byte, error) {
	return oprf.Blind(pub.p, inputs, blinds)
}

// evaluate is the server's evaluation of the blinded elements, with its
// proof under the randomness r (nil: fresh).
func (k *OPRFKey) evaluate(blinded []byte, r []byte, withProof bool) (evaluated, proof []byte, err error) {
	return k.k.Evaluate(blinded, r, withProof)
}

// testSealer computes F_k one plain key at a time.
type testSealer struct{ s *oprf.Sealer }

func (k *OPRFKey) newSealer() testSealer { return testSealer{k.k.NewSealer()} }

// output returns the first 8 bytes of F_k(input of key), big-endian.
func (s testSealer) output(key uint64) uint64 {
	var out [1]uint64
	s.s.Outputs([]uint64{key}, out[:])
	return out[0]
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
		req := &wire.Request{Bits: 20, Prefix: key >> 44, Elements: elems}
		reqBytes := wire.AppendRequest(nil, req)
		ev, proof, err := k.evaluate(elems, r, true)
		if err != nil {
			t.Fatal(err)
		}
		bk, err := ix.lookupBucket(req.Prefix, 20, false)
		if err != nil {
			t.Fatal(err)
		}
		respBytes := wire.AppendResponse(nil, &wire.Response{Bits: 20, KeyID: k.Public().idBytes(), Evaluated: ev, Proof: proof, Bucket: bk})
		resp, err := wire.ParseResponse(respBytes)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := st.Finalize(resp.Evaluated, resp.Proof)
		if err != nil {
			t.Fatal(err)
		}
		pc := &PrivateClient{}
		cfg := &PrivateConfig{BucketBits: 20, Datasets: rangeDatasets(ix.Datasets())}
		for _, s := range ix.Sets() {
			cfg.Sets = append(cfg.Sets, s.Datasets)
		}
		res, err := pc.client().Match(cfg, k.Public().p, phone.Number{E164: e}, key, binary.BigEndian.Uint64(outs[0]), resp.Bucket)
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
			PrivateKey: hex.EncodeToString(binary.BigEndian.AppendUint64(nil, wire.PrivateKey(key, binary.BigEndian.Uint64(outs[0]), 20))),
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

// circlServer returns circl's VOPRF server under k, read back from k's key
// file: the reference baseline of the benchmarks.
func circlServer(t testing.TB, k *OPRFKey) voprf.VerifiableServer {
	t.Helper()
	data, err := k.MarshalKeyFile("")
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(data, &kf); err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(kf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	sk := new(voprf.PrivateKey)
	if err := sk.UnmarshalBinary(voprf.SuiteRistretto255, raw); err != nil {
		t.Fatal(err)
	}
	return voprf.NewVerifiableServer(voprf.SuiteRistretto255, sk)
}
