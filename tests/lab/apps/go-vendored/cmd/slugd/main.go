// slugd answers /slug?s=... with a URL slug; built with a plain `go build` (cgo on by default
// in the golang image, so net's cgo resolver links glibc in).
package main

import (
	"fmt"
	"log"
	"net/http"

	"lab.example/textutil"
)

func main() {
	http.HandleFunc("/slug", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, textutil.Slug(r.URL.Query().Get("s")))
	})
	log.Fatal(http.ListenAndServe(":9090", nil))
}
