package main

import "fmt"

// What the page receives for a bad request: a JSON object with the error.
func Example() {
	fmt.Println(check("xml", "<device/>", ""))
	fmt.Println(check("cert", "-----BEGIN CERTIFICATE-----", `{"role":"proxy"}`))
	// Output:
	// {"error":"wasm: unknown kind \"xml\""}
	// {"error":"wasm: bad options: role \"proxy\" is neither node nor edge"}
}
