// Package jsonshape renders the JSON shape of a Go type (field names, tag
// options and value kinds, embedded structs flattened) so that tests can
// hold a hand-written wire struct to the published type it stands in for.
// Only tests import it.
package jsonshape

import (
	"fmt"
	"reflect"
	"strings"
)

// Of returns the shape of t. same names types to render as one opaque
// label: a published type and its wire twin that encode alike (for example
// metav1.Duration and a wire duration, both a Go duration string).
func Of(t reflect.Type, same map[reflect.Type]string) string {
	if label, ok := same[t]; ok {
		return label
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + Of(t.Elem(), same)
	case reflect.Slice:
		return "[]" + Of(t.Elem(), same)
	case reflect.Map:
		return "map[" + Of(t.Key(), same) + "]" + Of(t.Elem(), same)
	case reflect.Struct:
		return "{" + strings.Join(fields(t, same), " ") + "}"
	default:
		return t.Kind().String()
	}
}

func fields(t reflect.Type, same map[reflect.Type]string) []string {
	var out []string
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			out = append(out, fields(f.Type, same)...)
			continue
		}
		out = append(out, fmt.Sprintf("%s,%s:%s", name, opts, Of(f.Type, same)))
	}
	return out
}
