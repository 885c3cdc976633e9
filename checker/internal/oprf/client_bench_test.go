package oprf

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkClient is the client's side of a query, per number: blinding
// (HashToGroup and r·H2G(x)), the decode hints a client sends a server
// that takes them, the server's evaluation with its proof (for
// comparison, with the hints and without: x-server-hints), and
// finalizing (the proof's check, then r⁻¹·Eval and the output hash), for
// one number a request (the CLI, the browser) and 128 (the operator
// batch), against circl's client (the reference) in alternating rounds.
// Thread CPU time, medians of 9 rounds.
//
//	go test ./checker/internal/oprf -run '^$' -bench BenchmarkClient -benchtime 1x
func BenchmarkClient(b *testing.B) {
	k, _ := GenerateKey()
	for _, n := range []int{1, 128} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			inputs := make([][]byte, n)
			for i := range inputs {
				inputs[i] = Input(uint64(1000*n + i))
			}
			reps := max(1, 256/n)
			var blind, eval, fin, cblind, cfin, hint, unhinted []float64
			for b.Loop() {
				for range 9 {
					var bt, et, ft, cbt, cft float64
					for range reps {
						// circl's client, the reference, on the same inputs.
						blinds := randomBlinds(n)
						t0 := threadCPU()
						ref, elems, err := circlBlind(k.Public(), inputs, blinds)
						t1 := threadCPU()
						ev, proof, err2 := k.Evaluate(elems, nil, true)
						t2 := threadCPU()
						_, err3 := ref.finalize(ev, proof)
						t3 := threadCPU()
						if err != nil || err2 != nil || err3 != nil {
							b.Fatal(err, err2, err3)
						}
						cbt += float64((t1 - t0).Microseconds())
						cft += float64((t3 - t2).Microseconds())
					}
					var ht, ut float64
					for range reps {
						t0 := threadCPU()
						st, elems, err := Blind(k.Public(), inputs, nil)
						t1 := threadCPU()
						hints := DecodeHints(elems)
						t2 := threadCPU()
						ev, proof, err2 := k.EvaluateHinted(elems, hints)
						t3 := threadCPU()
						_, _, err4 := k.Evaluate(elems, nil, true) // without hints
						t4 := threadCPU()
						_, err3 := st.Finalize(ev, proof)
						t5 := threadCPU()
						if err != nil || err2 != nil || err3 != nil || err4 != nil {
							b.Fatal(err, err2, err3, err4)
						}
						bt += float64((t1 - t0).Microseconds())
						ht += float64((t2 - t1).Microseconds())
						et += float64((t3 - t2).Microseconds())
						ut += float64((t4 - t3).Microseconds())
						ft += float64((t5 - t4).Microseconds())
					}
					d := float64(reps * n)
					blind, eval, fin = append(blind, bt/d), append(eval, et/d), append(fin, ft/d)
					hint, unhinted = append(hint, ht/d), append(unhinted, ut/d)
					cblind, cfin = append(cblind, cbt/d), append(cfin, cft/d)
				}
			}
			b.ReportMetric(median(blind), "blind-us/num")
			b.ReportMetric(median(fin), "finalize-us/num")
			b.ReportMetric(median(blind)+median(fin), "client-us/num")
			b.ReportMetric(1e6/(median(blind)+median(fin)), "client-num/s/core")
			b.ReportMetric(median(eval), "server-us/num")
			b.ReportMetric(median(hint), "hints-us/num")
			b.ReportMetric(median(unhinted), "server-nohints-us/num")
			b.ReportMetric(median(unhinted)/median(eval), "x-server-hints")
			b.ReportMetric(median(cblind), "circl-blind-us/num")
			b.ReportMetric(median(cfin), "circl-finalize-us/num")
			b.ReportMetric((median(cblind)+median(cfin))/(median(blind)+median(fin)), "x-vs-circl")
			b.ReportMetric(0, "ns/op")
		})
	}
}
