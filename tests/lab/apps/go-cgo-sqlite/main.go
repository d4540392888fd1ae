package main

import (
	"fmt"
	"log"
	"net/http"
	"strings"
)

const schema = `CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, stars INTEGER);
INSERT INTO notes(body, stars) VALUES ('build', 3), ('ship', 5), ('probe', 4);`

func main() {
	http.HandleFunc("/notes/stars", func(w http.ResponseWriter, r *http.Request) {
		total := scalar(schema, "SELECT sum(stars) FROM notes")
		major := strings.SplitN(sqliteVersion(), ".", 2)[0]
		fmt.Fprintf(w, "notes=3 stars=%d sqlite=%s\n", total, major)
	})
	log.Fatal(http.ListenAndServe(":8081", nil))
}
