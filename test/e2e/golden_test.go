package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/golden"
)

// TestConfigureDockerGoldenThroughTheBinary runs the configure-docker
// golden cases (test/testdata/configure-docker, layout in package
// test/golden; -update lives in cmd/docker-credential-ocir's test) with the built
// binary, with nothing but the case's environment, HOME and PATH.
func TestConfigureDockerGoldenThroughTheBinary(t *testing.T) {
	for _, c := range golden.Cases(t, filepath.Join("..", "testdata", "configure-docker")) {
		t.Run(c.Name, func(t *testing.T) {
			r := c.Prepare(t)
			env := map[string]string{"PATH": binDir + string(os.PathListSeparator) + os.Getenv("PATH")}
			for k, v := range r.Env { // the case's own PATH, if any, wins
				env[k] = v
			}
			var envList []string
			for k, v := range env {
				envList = append(envList, k+"="+v)
			}
			cmd := exec.CommandContext(context.Background(), filepath.Join(binDir, helperName), append([]string{"configure-docker"}, r.Args...)...)
			cmd.Env, cmd.Dir = envList, r.Scratch
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := exitCodeOf(cmd.Run())
			c.Check(t, r, code, stdout.String(), stderr.String(), false)
		})
	}
}
