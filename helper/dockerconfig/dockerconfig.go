// Package dockerconfig edits the credHelpers section of a docker
// config.json (or a containers auth.json, which has the same shape)
// without understanding the rest of the file.
//
// The file is held as raw JSON: top-level keys keep their order and their
// values, so every key this package does not know — proxies, plugins,
// aliases, whatever docker adds next — survives an edit. Editing through a
// typed struct would silently drop them.
package dockerconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Well-known top-level keys.
const (
	KeyCredHelpers = "credHelpers"
	KeyCredsStore  = "credsStore"
	KeyAuths       = "auths"
)

// ErrMalformed is returned for a file that is not a JSON object (or whose
// credHelpers is not an object of strings).
var ErrMalformed = errors.New("malformed config file")

// Document is a parsed config file.
type Document struct {
	top    *object
	indent string // one level of indentation, as found in the original
}

// object is a JSON object with its key order preserved.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

func newObject() *object { return &object{vals: map[string]json.RawMessage{}} }

func (o *object) get(k string) (json.RawMessage, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *object) set(k string, v json.RawMessage) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *object) del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	for i, kk := range o.keys {
		if kk == k {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
}

// parseObject decodes one JSON object keeping key order. An empty or
// whitespace-only input, or null, is an empty object, as docker reads it.
// Duplicate keys are rejected: which one wins differs between parsers, so
// an edit could silently change what the file means.
func parseObject(raw []byte) (*object, error) {
	o := newObject()
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return o, nil
	}
	if !utf8.Valid(raw) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: top level is not a JSON object", ErrMalformed)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: expected an object key", ErrMalformed)
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("%w: value of %q: %v", ErrMalformed, key, err)
		}
		if _, dup := o.vals[key]; dup {
			return nil, fmt.Errorf("%w: duplicate key %q", ErrMalformed, key)
		}
		o.set(key, val)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: unexpected data after the top-level object", ErrMalformed)
	}
	return o, nil
}

// Parse reads a config file's content. Empty content is an empty config.
func Parse(raw []byte) (*Document, error) {
	top, err := parseObject(raw)
	if err != nil {
		return nil, err
	}
	d := &Document{top: top, indent: detectIndent(raw)}
	// Validate credHelpers up front so a bad one is reported before any
	// edit is attempted.
	if _, err := d.CredHelpers(); err != nil {
		return nil, err
	}
	return d, nil
}

// detectIndent returns the whitespace that starts the first indented line,
// so an edit keeps the file's style; docker itself writes tabs.
func detectIndent(raw []byte) string {
	for _, line := range bytes.Split(raw, []byte("\n")) {
		n := len(line) - len(bytes.TrimLeft(line, " \t"))
		if n > 0 && n < len(line) && n <= 8 {
			ws := string(line[:n])
			if strings.Trim(ws, " ") == "" || strings.Trim(ws, "\t") == "" {
				return ws
			}
		}
	}
	return "\t"
}

// credHelpers returns the credHelpers object (empty when absent or null).
func (d *Document) credHelpers() (*object, error) {
	raw, ok := d.top.get(KeyCredHelpers)
	if !ok {
		return newObject(), nil
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		if string(t) == "null" {
			return newObject(), nil
		}
		return nil, fmt.Errorf("%w: %s is not an object", ErrMalformed, KeyCredHelpers)
	}
	o, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyCredHelpers, err)
	}
	for _, k := range o.keys {
		var s string
		if err := json.Unmarshal(o.vals[k], &s); err != nil {
			return nil, fmt.Errorf("%w: %s[%q] is not a string", ErrMalformed, KeyCredHelpers, k)
		}
	}
	return o, nil
}

// Entry is one credHelpers entry.
type Entry struct {
	Host   string // the key as written
	Helper string // the helper's name without "docker-credential-"
}

// CredHelpers returns the credHelpers entries in file order.
func (d *Document) CredHelpers() ([]Entry, error) {
	o, err := d.credHelpers()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(o.keys))
	for _, k := range o.keys {
		var s string
		_ = json.Unmarshal(o.vals[k], &s) // validated by credHelpers
		out = append(out, Entry{Host: k, Helper: s})
	}
	return out, nil
}

// SetCredHelper points host at helper. It returns the helper the host was
// using before ("" when none) and whether anything changed.
func (d *Document) SetCredHelper(host, helper string) (previous string, changed bool, err error) {
	if host == "" || helper == "" || !utf8.ValidString(host) || !utf8.ValidString(helper) {
		return "", false, fmt.Errorf("invalid credHelpers entry %q: %q", host, helper)
	}
	o, err := d.credHelpers()
	if err != nil {
		return "", false, err
	}
	if raw, ok := o.get(host); ok {
		_ = json.Unmarshal(raw, &previous)
		if previous == helper {
			return previous, false, nil
		}
	}
	v, err := encodeString(helper)
	if err != nil {
		return "", false, err
	}
	o.set(host, v)
	return previous, true, d.putCredHelpers(o)
}

// RemoveCredHelper removes host's entry if it points at helper; an entry
// for another helper is left alone (it is not ours to remove) and reported
// through other. An emptied credHelpers is removed altogether.
func (d *Document) RemoveCredHelper(host, helper string) (removed bool, other string, err error) {
	o, err := d.credHelpers()
	if err != nil {
		return false, "", err
	}
	raw, ok := o.get(host)
	if !ok {
		return false, "", nil
	}
	var cur string
	_ = json.Unmarshal(raw, &cur)
	if cur != helper {
		return false, cur, nil
	}
	o.del(host)
	return true, "", d.putCredHelpers(o)
}

func (d *Document) putCredHelpers(o *object) error {
	if len(o.keys) == 0 {
		d.top.del(KeyCredHelpers)
		return nil
	}
	raw, err := o.marshal()
	if err != nil {
		return err
	}
	d.top.set(KeyCredHelpers, raw)
	return nil
}

// CredsStore returns the credsStore value ("" when unset).
func (d *Document) CredsStore() string {
	raw, ok := d.top.get(KeyCredsStore)
	if !ok {
		return ""
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// AuthEntry is what matters of an auths entry: whether it holds a secret
// that some clients would use instead of asking the helper.
type AuthEntry struct {
	Key       string // the key as written (may be a URL)
	HasSecret bool   // it holds an auth, password, identity or registry token (never read out)
}

// Auths returns the auths entries in file order. A malformed auths section
// yields no entries: it is only used for warnings.
func (d *Document) Auths() []AuthEntry {
	raw, ok := d.top.get(KeyAuths)
	if !ok {
		return nil
	}
	o, err := parseObject(raw)
	if err != nil {
		return nil
	}
	var out []AuthEntry
	for _, k := range o.keys {
		var e struct {
			Auth          string `json:"auth"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
			RegistryToken string `json:"registrytoken"`
		}
		_ = json.Unmarshal(o.vals[k], &e)
		out = append(out, AuthEntry{Key: k, HasSecret: e.Auth != "" || e.Password != "" || e.IdentityToken != "" || e.RegistryToken != ""})
	}
	return out
}

// Keys returns the top-level keys in file order.
func (d *Document) Keys() []string { return append([]string(nil), d.top.keys...) }

// Marshal renders the document: top-level keys in their original order,
// values re-indented with the file's indentation, a trailing newline.
func (d *Document) Marshal() ([]byte, error) {
	var b bytes.Buffer
	if len(d.top.keys) == 0 {
		b.WriteString("{}\n")
		return b.Bytes(), nil
	}
	b.WriteString("{\n")
	for i, k := range d.top.keys {
		key, err := encodeString(k)
		if err != nil {
			return nil, err
		}
		b.WriteString(d.indent)
		b.Write(key)
		b.WriteString(": ")
		if err := json.Indent(&b, d.top.vals[k], d.indent, d.indent); err != nil {
			return nil, fmt.Errorf("re-indent %q: %w", k, err)
		}
		if i < len(d.top.keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// marshal renders an object compactly; Document.Marshal indents it.
func (o *object) marshal() (json.RawMessage, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := encodeString(k)
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(bytes.TrimSpace(o.vals[k]))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encodeString encodes a JSON string without HTML escaping, so keys are
// written back the way users wrote them.
func encodeString(s string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode %q: %w", s, err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
