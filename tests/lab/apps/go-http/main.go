// A JSON API on net/http only: the shape of most small Go services.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strings"
)

type reply struct {
	Service string   `json:"service"`
	Words   []string `json:"words"`
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /words/{text}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reply{Service: "go-http", Words: strings.Split(r.PathValue("text"), "-")})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	addr := ":" + envOr("PORT", "8080")
	log.Printf("listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
