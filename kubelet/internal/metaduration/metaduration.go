// Package metaduration is the JSON form of apimachinery's metav1.Duration,
// which the kubelet's credential-provider types use: a Go duration string
// such as "44m0s". The plugin's responses encode it and the config tooling
// decodes it without linking the API machinery (see kubelet/doc.go); the
// tests of both hold it to metav1.Duration.
package metaduration

import (
	"encoding/json"
	"time"
)

// Duration is a time.Duration in metav1.Duration's JSON form. A JSON null
// leaves a *Duration field nil without calling UnmarshalJSON, as it does
// for *metav1.Duration.
type Duration time.Duration

// MarshalJSON writes the duration as time.Duration.String does.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a JSON string with time.ParseDuration; anything else
// is an error, worded by encoding/json as the kubelet's is.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	pd, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(pd)
	return nil
}
