// Package textutil is the lab's own small dependency, vendored the way projects vendor
// third-party modules (go mod vendor), so the build needs no module download.
package textutil

import (
	"strings"
	"unicode"
)

// Slug lowercases s and joins its letter/digit runs with "-".
func Slug(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	return strings.Join(f, "-")
}
