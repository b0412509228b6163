package providerconfig

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// qualifiedNameCases are keys where a hand-written check could part from
// apimachinery's regular expressions, named after what they probe.
var qualifiedNameCases = map[string]string{
	"empty":                          "",
	"slash only":                     "/",
	"prefix only":                    "example.com/",
	"name only":                      "MyName",
	"prefix and name":                "example.com/my.name_1-x",
	"two slashes":                    "a/b/c",
	"three slashes, all empty":       "///",
	"empty prefix":                   "/name",
	"uppercase prefix":               "Example.com/name",
	"uppercase name":                 "example.com/NAME",
	"underscore in prefix":           "my_domain.com/name",
	"dot at prefix start":            ".example.com/name",
	"dot at prefix end":              "example.com./name",
	"empty prefix label":             "example..com/name",
	"hyphen at prefix label edge":    "example-.com/name",
	"hyphen inside prefix label":     "ex-ample.c-om/name",
	"name starting with dot":         ".name",
	"name ending with dash":          "name-",
	"name ending with underscore":    "name_",
	"name of one char":               "a",
	"name of one symbol":             "_",
	"name with dots and underscores": "a.b_c-d",
	"name with space":                "my name",
	"name with trailing newline":     "name\n",
	"unicode name":                   "naïve",
	"unicode prefix":                 "exämple.com/name",
	"fullwidth letter":               "ａ",
	"invalid UTF-8":                  "a\xffb",
	"NUL byte":                       "a\x00b",
	"name 63 bytes":                  strings.Repeat("a", 63),
	"name 64 bytes":                  strings.Repeat("a", 64),
	"name 64 bytes and bad end":      strings.Repeat("a", 63) + "-",
	"prefix 253 bytes":               longPrefix(253) + "/name",
	"prefix 254 bytes":               longPrefix(254) + "/name",
	"prefix 254 bytes and bad":       longPrefix(253) + "-/name",
	"both too long":                  longPrefix(254) + "/" + strings.Repeat("b", 64),
	"prefix of one long label":       strings.Repeat("a", 100) + "/name",
}

// longPrefix returns a valid-looking DNS subdomain of n bytes.
func longPrefix(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.Repeat("a", min(62, n-b.Len())))
	}
	s := b.String()
	if strings.HasSuffix(s, ".") {
		s = s[:len(s)-1] + "a"
	}
	return s
}

func checkQualifiedName(t *testing.T, key string) {
	t.Helper()
	want := validation.IsQualifiedName(key)
	if got := isQualifiedName(key); !slices.Equal(got, want) {
		t.Errorf("isQualifiedName(%q)\n= %q\napimachinery says\n  %q", key, got, want)
	}
}

func TestIsQualifiedNameMatchesApimachinery(t *testing.T) {
	valid := 0
	for name, key := range qualifiedNameCases {
		t.Run(name, func(t *testing.T) {
			checkQualifiedName(t, key)
			if validation.IsQualifiedName(key) == nil {
				valid++
			}
		})
	}
	// The table has accepted keys too, so agreement is not only on errors.
	if valid < 5 {
		t.Errorf("only %d valid keys in the table", valid)
	}
}

func FuzzIsQualifiedNameMatchesApimachinery(f *testing.F) {
	for _, key := range qualifiedNameCases {
		f.Add(key)
	}
	f.Fuzz(checkQualifiedName)
}
