package providerconfig

import "strings"

// Messages of apimachinery's IsQualifiedName (k8s.io/apimachinery
// pkg/api/validate/content), word for word, since they end up in the field
// errors the kubelet prints. TestIsQualifiedNameMatchesApimachinery and
// FuzzIsQualifiedNameMatchesApimachinery hold them to that (the ",  or"
// is apimachinery's RegexError punctuation).
const (
	qualifiedNameFmt    = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
	qualifiedNameRegexp = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character" +
		" (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '" + qualifiedNameFmt + "')"
	qualifiedNameMaxLength = 63

	dnsSubdomainRegexp = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character" +
		" (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
	dnsSubdomainMaxLength = 253

	msgTooManySlashes  = "a valid label key " + qualifiedNameRegexp + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
	msgPrefixEmpty     = "prefix part must be non-empty"
	msgPrefixTooLong   = "prefix part must be no more than 253 bytes"
	msgPrefixBadFormat = "prefix part " + dnsSubdomainRegexp
	msgNameEmpty       = "name part must be non-empty"
	msgNameTooLong     = "name part must be no more than 63 bytes"
	msgNameBadFormat   = "name part " + qualifiedNameRegexp
)

// isQualifiedName reports what apimachinery's validation.IsQualifiedName
// reports for value, with the same messages in the same order; nil when the
// value is an optional DNS subdomain prefix and '/' followed by a name.
// It checks byte by byte instead of with apimachinery's regular expressions:
// that package and the one it wraps compile 18 of them (and link klog) at
// the start of every process that links them, and the plugin binary is
// exec'd per image pull.
func isQualifiedName(value string) []string {
	var errs []string
	name := value
	switch strings.Count(value, "/") {
	case 0:
	case 1:
		var prefix string
		prefix, name, _ = strings.Cut(value, "/")
		switch {
		case prefix == "":
			errs = append(errs, msgPrefixEmpty)
		default:
			if len(prefix) > dnsSubdomainMaxLength {
				errs = append(errs, msgPrefixTooLong)
			}
			if !isDNSSubdomain(prefix) {
				errs = append(errs, msgPrefixBadFormat)
			}
		}
	default:
		return []string{msgTooManySlashes}
	}
	if name == "" {
		errs = append(errs, msgNameEmpty)
	} else if len(name) > qualifiedNameMaxLength {
		errs = append(errs, msgNameTooLong)
	}
	if !isQualifiedNamePart(name) {
		errs = append(errs, msgNameBadFormat)
	}
	return errs
}

// isQualifiedNamePart matches ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$.
// A byte outside ASCII never matches, as in the regexp, where any non-ASCII
// rune (or invalid UTF-8, read as U+FFFD) is outside every class.
func isQualifiedNamePart(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isDNSSubdomain matches ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$:
// dot-separated labels of lower-case letters, digits and '-', each starting
// and ending with a letter or digit. Length is checked separately.
func isDNSSubdomain(s string) bool {
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || !isLowerAlnum(label[0]) || !isLowerAlnum(label[len(label)-1]) {
			return false
		}
		for i := 1; i < len(label)-1; i++ {
			if c := label[i]; !isLowerAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }
