// A net/http service whose start command pipes its log through tee into a file, as some
// projects do to keep a log inside the container: the answer says whether its own start-up line
// reached that file, so a runtime image that cannot run tee or a user that cannot write the file
// answers differently.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strings"
)

const logFile = "/var/log/shell-log/service.log"

type reply struct {
	Service string `json:"service"`
	Echo    string `json:"echo"`
	Logged  bool   `json:"logged"`
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /echo/{text}", func(w http.ResponseWriter, r *http.Request) {
		data, _ := os.ReadFile(logFile)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reply{
			Service: "go-shell-log",
			Echo:    r.PathValue("text"),
			Logged:  strings.Contains(string(data), "listening on :8080"),
		})
	})
	log.Printf("listening on :8080")
	log.Fatal(http.ListenAndServe(":8080", mux))
}
