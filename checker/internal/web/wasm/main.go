//go:build js && wasm

// Command wasm is the web page's module: webclient compiled to
// WebAssembly. It sets globalThis.phonecheck to
//
//	describe(number, region) -> JSON of a webclient.Outcome (no request)
//	check(options JSON, fetch) -> Promise of the JSON of a webclient.Outcome
//
// where fetch(method, url, headers, body) is the page's transport: it
// returns a Promise of {status, contentType, retryAfter, body: Uint8Array}
// and rejects when no answer came.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"syscall/js"

	"github.com/phonecheck/phonecheck/checker/internal/web/webclient"
)

func main() {
	api := js.Global().Get("Object").New()
	api.Set("describe", js.FuncOf(describe))
	api.Set("check", js.FuncOf(check))
	js.Global().Set("phonecheck", api)
	if ready := js.Global().Get("phonecheckReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // keep the functions alive
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `{"status":"error","error":{"code":"protocol","message":"internal: ` + err.Error() + `"}}`
	}
	return string(b)
}

func describe(_ js.Value, args []js.Value) any {
	if len(args) < 2 {
		return toJSON(webclient.Outcome{Status: webclient.StatusError})
	}
	out, _, _ := webclient.Describe(args[0].String(), args[1].String())
	return toJSON(out)
}

func check(_ js.Value, args []js.Value) any {
	var o webclient.Options
	if len(args) < 2 || json.Unmarshal([]byte(args[0].String()), &o) != nil {
		return js.Global().Get("Promise").Call("reject", "phonecheck.check(options JSON, fetch)")
	}
	fetchFn := args[1]
	var handler js.Func
	handler = js.FuncOf(func(_ js.Value, pargs []js.Value) any {
		resolve := pargs[0]
		go func() {
			defer handler.Release()
			out := webclient.Check(context.Background(), jsFetch(fetchFn), o)
			resolve.Invoke(toJSON(out))
		}()
		return nil
	})
	return js.Global().Get("Promise").New(handler)
}

// jsFetch calls the page's fetch and waits for its promise: the Go side
// blocks in its own goroutine while the browser works.
func jsFetch(fn js.Value) webclient.Fetcher {
	return func(ctx context.Context, r webclient.Request) (webclient.Response, error) {
		hdr := js.Global().Get("Object").New()
		for k, v := range r.Header {
			hdr.Set(k, v)
		}
		body := js.Null()
		if r.Body != nil {
			body = js.Global().Get("Uint8Array").New(len(r.Body))
			js.CopyBytesToJS(body, r.Body)
		}
		type result struct {
			resp webclient.Response
			err  error
		}
		ch := make(chan result, 1)
		onOK := js.FuncOf(func(_ js.Value, a []js.Value) any {
			v := a[0]
			resp := webclient.Response{
				Status:      v.Get("status").Int(),
				ContentType: v.Get("contentType").String(),
				RetryAfter:  v.Get("retryAfter").String(),
			}
			if b := v.Get("body"); b.Truthy() {
				resp.Body = make([]byte, b.Get("length").Int())
				js.CopyBytesToGo(resp.Body, b)
			}
			ch <- result{resp: resp}
			return nil
		})
		onErr := js.FuncOf(func(_ js.Value, a []js.Value) any {
			msg := "the request failed"
			if len(a) > 0 && a[0].Truthy() {
				if m := a[0].Get("message"); m.Type() == js.TypeString {
					msg = m.String()
				}
			}
			ch <- result{err: errors.New(msg)}
			return nil
		})
		defer onOK.Release()
		defer onErr.Release()
		fn.Invoke(r.Method, r.URL, hdr, body).Call("then", onOK, onErr)
		select {
		case res := <-ch:
			return res.resp, res.err
		case <-ctx.Done():
			return webclient.Response{}, ctx.Err()
		}
	}
}
