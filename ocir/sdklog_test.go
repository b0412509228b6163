package ocir

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// ecProbeEnv marks a re-executed test binary that only reports
// OCI_GO_SDK_EC_CONFIG as its package initialisers left it.
const ecProbeEnv = "OCIR_TEST_PRINT_EC_CONFIG"

func printECConfig() int {
	v, set := os.LookupEnv("OCI_GO_SDK_EC_CONFIG")
	fmt.Printf("%t %q", set, v)
	return 0
}

// sdkquiet stands in "inprocess" for an unset OCI_GO_SDK_EC_CONFIG while
// the SDK initialises; once this package has initialised, a program it
// starts must see the variable as the user left it.
func TestTheSDKsEnvironmentIsTheUsersAgainAfterInitialisation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value *string
	}{
		{"unset", nil},
		{"empty", ptr("")},
		{"inprocess", ptr("inprocess")},
		{"file mode", ptr("file," + t.TempDir() + "/ec")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "OCI_GO_SDK_EC_CONFIG=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, ecProbeEnv+"=1")
			want := "false \"\""
			if tc.value != nil {
				cmd.Env = append(cmd.Env, "OCI_GO_SDK_EC_CONFIG="+*tc.value)
				want = "true " + strconv.Quote(*tc.value)
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != want {
				t.Errorf("after initialisation OCI_GO_SDK_EC_CONFIG is %s, want %s", out, want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
