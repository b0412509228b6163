package ocir

import (
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

func mustConfig(t *testing.T, y string) *config.File {
	t.Helper()
	f, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
