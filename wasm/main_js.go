//go:build js && wasm

package main

import (
	"fmt"
	"syscall/js"
)

func main() {
	api := js.Global().Get("Object").New()
	api.Set("version", versionString())
	samples, err := samplesJSON()
	if err != nil {
		samples = "[]" // the page then offers none
	}
	api.Set("samples", samples)
	api.Set("check", js.FuncOf(func(_ js.Value, args []js.Value) (out any) {
		defer recoverInto(&out, true)
		var s [3]string
		for i := range s {
			v, err := stringArg(args, i)
			if err != nil {
				return errorJSON(err)
			}
			s[i] = v
		}
		return check(s[0], s[1], s[2])
	}))
	api.Set("detect", js.FuncOf(func(_ js.Value, args []js.Value) (out any) {
		defer recoverInto(&out, false)
		v, err := stringArg(args, 0)
		if err != nil {
			return ""
		}
		return detect(v)
	}))
	js.Global().Set("sipoauth", api)
	if ready := js.Global().Get("sipoauthReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // serve calls from the page until it closes
}

// recoverInto turns a panic into the function's answer, so that the
// program keeps serving the page: an error JSON for check, "" for detect.
func recoverInto(out *any, asJSON bool) {
	if r := recover(); r != nil {
		if asJSON {
			*out = errorJSON(fmt.Errorf("wasm: internal error: %v", r))
		} else {
			*out = ""
		}
	}
}

// stringArg returns argument i as a string: undefined and null are "", a
// plain object (the options) is turned into JSON, anything else is an
// error.
func stringArg(args []js.Value, i int) (string, error) {
	if i >= len(args) {
		return "", nil
	}
	v := args[i]
	switch v.Type() {
	case js.TypeUndefined, js.TypeNull:
		return "", nil
	case js.TypeString:
		return v.String(), nil // check refuses more than MaxInput bytes
	case js.TypeObject:
		if i == 2 {
			return js.Global().Get("JSON").Call("stringify", v).String(), nil
		}
	}
	return "", fmt.Errorf("wasm: argument %d is a %s, not a string", i+1, v.Type())
}
