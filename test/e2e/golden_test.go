package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// TestConfigureDockerConcurrentBinariesKeepEveryEntry runs the built
// binary several times at once on one config file, each for another
// region: every entry must survive (the runs take turns under a lock).
func TestConfigureDockerConcurrentBinariesKeepEveryEntry(t *testing.T) {
	home := t.TempDir()
	regions := []string{"iad", "phx", "fra", "lhr", "nrt", "syd", "ams", "yyz"}
	errs := make(chan error, len(regions))
	for _, region := range regions {
		go func() {
			cmd := exec.CommandContext(context.Background(), filepath.Join(binDir, helperName), "configure-docker", "--region", region)
			cmd.Env = []string{"HOME=" + home, "PATH=" + binDir}
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("--region %s: %w\n%s", region, err, out)
			}
			errs <- err
		}()
	}
	for range regions {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(home, ".docker", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	for _, region := range regions {
		if cfg.CredHelpers[region+".ocir.io"] != "ocir" {
			t.Errorf("%s.ocir.io lost", region)
		}
	}
	if want := 2 * len(regions); len(cfg.CredHelpers) != want {
		t.Errorf("%d credHelpers entries, want %d (both host forms of each region):\n%s", len(cfg.CredHelpers), want, raw)
	}
}
