// Command bench times what users run: the built binaries, exec'd directly
// with their request on stdin as docker and the kubelet exec them, against
// the local OCI emulator. Warm cases are paired with a floor binary built in
// the same run (bench/floor: read stdin, read one JSON file, print the
// answer) and interleaved with it, so the ratios hold on a noisy machine
// where absolute times do not. Cold cases report the emulator's request
// counts per run. It prints a table and writes bench/results.json.
//
// It measures and reports; it never fails on timing. It exits non-zero only
// when it cannot run (a build fails, the emulator does not start, a warm
// answer is wrong).
//
//	go run ./bench -bin bin [-pairs 200] [-cold 20] [-out bench/results.json]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

const (
	helperBin = "docker-credential-ocir"
	pluginBin = "ocir-credential-provider"
	host      = "iad.ocir.io"
	image     = host + "/demotenancy/hello"
	// delay is the round trip injected at every emulated OCI endpoint in
	// the slow-network case; it dominates loopback's own round trip.
	delay = 40 * time.Millisecond
)

// Result is one benchmark case. Times are nanoseconds, RSS KiB; ratios are
// subject/floor of interleaved pairs.
type Result struct {
	Name        string  `json:"name"`
	Runs        int     `json:"runs"`
	MedianNs    int64   `json:"medianNs"`
	P99Ns       int64   `json:"p99Ns"`
	FloorMedian int64   `json:"floorMedianNs,omitempty"`
	MedianRatio float64 `json:"medianRatio,omitempty"`
	P99Ratio    float64 `json:"p99Ratio,omitempty"`
	CPURatio    float64 `json:"cpuMedianRatio,omitempty"` // user+sys CPU, subject/floor, median of pairs
	PeakRSSKiB  int64   `json:"peakRssKiB"`
	FloorRSSKiB int64   `json:"floorPeakRssKiB,omitempty"`
	// Faults and FloorFaults are the median minor page faults per run:
	// steadier than time on a machine whose page faults cost more at
	// some hours than at others.
	Faults      int64              `json:"minorFaultsMedian,omitempty"`
	FloorFaults int64              `json:"floorMinorFaultsMedian,omitempty"`
	Failures    int                `json:"failures"`
	PerRun      map[string]float64 `json:"requestsPerRun,omitempty"`
	Totals      map[string]int     `json:"requestsTotal,omitempty"`
	BoundNs     int64              `json:"boundNs,omitempty"`
	// AddedNs is what the injected latency added to the median: this
	// case's median less the same case's without it, run just before.
	AddedNs int64 `json:"latencyAddedNs,omitempty"`
	// RoundTrips is AddedNs in injected round trips: how many OCI calls
	// the work waits for one after the other (BoundNs's count is the
	// fewest the work needs).
	RoundTrips float64 `json:"sequentialRoundTrips,omitempty"`
	Note       string  `json:"note,omitempty"`
}

// Report is bench/results.json.
type Report struct {
	When    time.Time `json:"when"`
	GoOS    string    `json:"goos"`
	GoArch  string    `json:"goarch"`
	CPUs    int       `json:"cpus"`
	Command string    `json:"command"`
	Results []Result  `json:"results"`
}

func main() {
	bin := flag.String("bin", "bin", "directory with the built docker-credential-ocir and ocir-credential-provider")
	pairs := flag.Int("pairs", 200, "interleaved subject/floor pairs per warm case (at least 100)")
	cold := flag.Int("cold", 20, "runs per cold case")
	out := flag.String("out", filepath.Join("bench", "results.json"), "where to write the results")
	tags := flag.String("tags", "", "build tags of the floor binary (use the products' tags)")
	flag.Parse()
	if *pairs < 100 {
		*pairs = 100
	}
	if err := run(*bin, *pairs, *cold, *out, *tags); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(bin string, pairs, cold int, out, tags string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	for _, b := range []string{helperBin, pluginBin} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return fmt.Errorf("%w (run make build first)", err)
		}
	}
	work, err := os.MkdirTemp("", "ocir-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	built := filepath.Join(work, "floor.built")
	build := exec.Command("go", "build", "-trimpath", "-tags", tags, "-ldflags", "-s -w", "-o", built, "./bench/floor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the floor binary: %v\n%s", err, b)
	}
	// The floor and the binaries measured are run from copies made here,
	// one after the other and written alike, so that they differ only in
	// their bytes. On this kind of VM the file itself matters: two files
	// with identical bytes measured 1.65× and 1.77× the floor in the same
	// run, and a file written in one write (large page-cache folios)
	// starts faster but maps more at each fault (peak RSS +1–2 MiB). The
	// copies are written a page per write, as the linker writes its output.
	copies := filepath.Join(work, "bin")
	if err := os.Mkdir(copies, 0o755); err != nil {
		return err
	}
	for src, name := range map[string]string{built: "floor", filepath.Join(bin, helperBin): helperBin, filepath.Join(bin, pluginBin): pluginBin} {
		raw, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := writeInPages(filepath.Join(copies, name), raw); err != nil {
			return err
		}
	}
	bin, floor := copies, filepath.Join(copies, "floor")
	e, err := emulator.Start(emulator.Options{Dir: filepath.Join(work, "emu")})
	if err != nil {
		return err
	}
	defer e.Close()
	b := &bench{e: e, work: work, bin: bin, floor: floor}

	var results []Result
	add := func(r Result, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		results = append(results, r)
		return nil
	}
	if err := add(b.warm("warm get", pairs, helperBin, "get", host, "")); err != nil {
		return err
	}
	req := `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"` + image + `"}`
	if err := add(b.warm("warm plugin", pairs, pluginBin, "", req, "plugin")); err != nil {
		return err
	}
	floorMedian := results[0].FloorMedian
	coldInstance := b.cold("cold instance principal", cold, instance, 0, floorMedian)
	slow := b.cold(fmt.Sprintf("cold instance principal, %s per OCI round trip", delay), max(cold/2, 5), instance, delay, floorMedian)
	if slow.MedianNs > 0 && coldInstance.MedianNs > 0 {
		slow.AddedNs = slow.MedianNs - coldInstance.MedianNs
		slow.RoundTrips = round2(float64(slow.AddedNs) / float64(delay))
	}
	results = append(results,
		b.cold("cold API key", cold, apiKey, 0, floorMedian),
		coldInstance,
		slow,
		b.burst("burst 128 gets, one registry", 128, apiKey, []string{host}),
		b.burst("32 registries, one instance principal", 32, instance, registries(32)),
	)

	rep := Report{When: time.Now().UTC(), GoOS: runtime.GOOS, GoArch: runtime.GOARCH, CPUs: runtime.NumCPU(),
		Command: "make bench", Results: results}
	printTable(os.Stdout, rep)
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, append(raw, '\n'), 0o644)
}

type identity int

const (
	apiKey   identity = iota // the emulator's OCI config file, no instance
	instance                 // only the instance metadata service
)

type bench struct {
	e     *emulator.Emulator
	work  string
	bin   string
	floor string
	seq   int
}

// env is a child's complete environment: nothing of the caller's leaks in.
func (b *bench) env(id identity, cacheDir string, extra ...string) []string {
	b.seq++
	home := filepath.Join(b.work, fmt.Sprintf("home-%d", b.seq))
	_ = os.MkdirAll(home, 0o700)
	env := []string{"HOME=" + home, "OCIR_CACHE_DIR=" + cacheDir}
	for _, kv := range b.e.Env() {
		k, _, _ := strings.Cut(kv, "=")
		if (id == apiKey && k == "OCI_METADATA_BASE_URL") || (id == instance && k == "OCI_CLI_CONFIG_FILE") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func (b *bench) freshCache() string {
	b.seq++
	return filepath.Join(b.work, fmt.Sprintf("cache-%d", b.seq))
}

// execution is one finished process.
type execution struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	rssKiB int64
	faults int64 // minor page faults
	stdout []byte
	err    error
}

// execOnce runs a binary with stdin from a file (as a pipe would hand it
// over, without a copying goroutine in this process) and measures it.
func execOnce(path string, args []string, env []string, stdinFile string) execution {
	f, err := os.Open(stdinFile)
	if err != nil {
		return execution{err: err}
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env, cmd.Stdin = env, f
	var o, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &stderr
	start := time.Now()
	err = cmd.Run()
	x := execution{wall: time.Since(start), stdout: o.Bytes()}
	if err != nil {
		x.err = fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if cmd.ProcessState != nil {
		x.rssKiB = maxRSSKiB(cmd.ProcessState)
		x.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		x.faults = minorFaults(cmd.ProcessState)
	}
	return x
}

// timeBin is GNU time, used to read a child's own peak RSS; rssRuns is how
// often each binary is measured that way.
var timeBin, _ = exec.LookPath("/usr/bin/time")

const rssRuns = 20

// rssOf runs a binary under GNU time and returns its peak RSS in KiB, 0
// when that fails.
func rssOf(path string, args, env []string, stdinFile string) int64 {
	f, err := os.Open(stdinFile)
	if err != nil {
		return 0
	}
	defer f.Close()
	report := stdinFile + ".rss"
	cmd := exec.Command(timeBin, append([]string{"-f", "%M", "-o", report, path}, args...)...)
	cmd.Env, cmd.Stdin = env, f
	if cmd.Run() != nil {
		return 0
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		return 0
	}
	var kib int64
	fmt.Sscan(strings.TrimSpace(string(raw)), &kib)
	return kib
}

// execMeasured is execOnce under GNU time when there is one, for the
// child's own peak RSS; the wall then includes time's fork (cold cases
// only, where that is noise).
func execMeasured(path string, args, env []string, stdinFile string) execution {
	if timeBin == "" {
		return execOnce(path, args, env, stdinFile)
	}
	report := fmt.Sprintf("%s.%d.rss", stdinFile, rssSeq.Add(1))
	x := execOnce(timeBin, append([]string{"-f", "%M", "-o", report, path}, args...), env, stdinFile)
	raw, err := os.ReadFile(report)
	x.rssKiB = 0
	if err == nil {
		// GNU time prefixes "Command exited with non-zero status N".
		lines := strings.Fields(string(raw))
		if len(lines) > 0 {
			fmt.Sscan(lines[len(lines)-1], &x.rssKiB)
		}
	}
	return x
}

var rssSeq atomic.Int64

func (b *bench) stdinFile(content string) (string, error) {
	b.seq++
	p := filepath.Join(b.work, fmt.Sprintf("stdin-%d", b.seq))
	return p, os.WriteFile(p, []byte(content), 0o600)
}

// warm runs the subject once to fill its cache, then pairs of (subject,
// floor) in alternating order, checking every answer.
func (b *bench) warm(name string, pairs int, binary, action, stdin, floorMode string) (Result, error) {
	r := Result{Name: name, Runs: pairs}
	cache := b.freshCache()
	env := b.env(apiKey, cache)
	in, err := b.stdinFile(stdin)
	if err != nil {
		return r, err
	}
	var args []string
	if action != "" {
		args = []string{action}
	}
	first := execOnce(filepath.Join(b.bin, binary), args, env, in)
	if first.err != nil {
		return r, first.err
	}
	files, _ := filepath.Glob(filepath.Join(cache, host+"-*.json"))
	if len(files) != 1 {
		return r, fmt.Errorf("cache files after the first run: %v", files)
	}
	floorEnv := append(env, "FLOOR_FILE="+files[0])
	var floorArgs []string
	if floorMode != "" {
		floorArgs = []string{floorMode}
	}
	b.e.ResetCounters()
	var subj, flo, subjFaults, floFaults []int64
	var ratios, cpuRatios []float64
	for i := range pairs {
		var s, f execution
		if i%2 == 0 {
			s = execOnce(filepath.Join(b.bin, binary), args, env, in)
			f = execOnce(b.floor, floorArgs, floorEnv, in)
		} else {
			f = execOnce(b.floor, floorArgs, floorEnv, in)
			s = execOnce(filepath.Join(b.bin, binary), args, env, in)
		}
		if s.err != nil || !bytes.Equal(sameAnswer.ReplaceAll(s.stdout, nil), sameAnswer.ReplaceAll(first.stdout, nil)) {
			return r, fmt.Errorf("warm run %d answered differently from the first: %v", i, s.err)
		}
		if f.err != nil {
			return r, fmt.Errorf("floor: %w", f.err)
		}
		subj, flo = append(subj, int64(s.wall)), append(flo, int64(f.wall))
		subjFaults, floFaults = append(subjFaults, s.faults), append(floFaults, f.faults)
		ratios = append(ratios, float64(s.wall)/float64(f.wall))
		if f.cpu > 0 {
			cpuRatios = append(cpuRatios, float64(s.cpu)/float64(f.cpu))
		}
		r.PeakRSSKiB, r.FloorRSSKiB = max(r.PeakRSSKiB, s.rssKiB), max(r.FloorRSSKiB, f.rssKiB)
	}
	if n := b.e.Count("token-attempts"); n != 0 {
		r.Note = fmt.Sprintf("%d token requests on the warm path", n)
	}
	if timeBin != "" {
		// Linux keeps the pre-exec high-water mark in the child's rusage,
		// and a child exec'd from here starts as a copy of this (large)
		// process; GNU time forks from a small process, so its report is
		// the binary's own peak.
		r.PeakRSSKiB, r.FloorRSSKiB = 0, 0
		for range rssRuns {
			r.PeakRSSKiB = max(r.PeakRSSKiB, rssOf(filepath.Join(b.bin, binary), args, env, in))
			r.FloorRSSKiB = max(r.FloorRSSKiB, rssOf(b.floor, floorArgs, floorEnv, in))
		}
	} else {
		r.Note = strings.TrimSpace(r.Note + " peak RSS includes the benchmark's own (no /usr/bin/time)")
	}
	r.MedianNs, r.P99Ns = quantile(subj, 0.5), quantile(subj, 0.99)
	r.FloorMedian = quantile(flo, 0.5)
	r.MedianRatio, r.P99Ratio = round2(quantileF(ratios, 0.5)), round2(quantileF(ratios, 0.99))
	r.CPURatio = round2(quantileF(cpuRatios, 0.5))
	r.Faults, r.FloorFaults = quantile(subjFaults, 0.5), quantile(floFaults, 0.5)
	return r, nil
}

// cold runs get on an empty cache, one process at a time, and counts what
// each run asks of OCI. With d > 0 every metadata read, federation and
// token call takes d longer, and the bound is the fewest round trips the
// work needs: two to the metadata service (the region probe, then the
// identity documents at once), one federation and one token call.
func (b *bench) cold(name string, runs int, id identity, d time.Duration, floorMedian int64) Result {
	r := Result{Name: name, Runs: runs, PerRun: map[string]float64{}}
	in, err := b.stdinFile(host)
	if err != nil {
		r.Failures, r.Note = runs, err.Error()
		return r
	}
	b.e.ClearFaults()
	if d > 0 {
		for _, ep := range []string{"imds", "federation", "token"} {
			b.e.AddFault(emulator.Fault{Endpoint: ep, Delay: d})
		}
		defer b.e.ClearFaults()
		r.BoundNs = int64(4 * d)
		r.Note = "bound = 2 metadata round trips + 1 federation + 1 token call; latency added = this median less the undelayed case's"
	}
	b.e.ResetCounters()
	var walls []int64
	for range runs {
		x := execMeasured(filepath.Join(b.bin, helperBin), []string{"get"}, b.env(id, b.freshCache()), in)
		if x.err != nil {
			r.Failures++
			r.Note = strings.TrimSpace(r.Note + "; " + firstLine(x.err))
			continue
		}
		walls = append(walls, int64(x.wall))
		r.PeakRSSKiB = max(r.PeakRSSKiB, x.rssKiB)
	}
	r.MedianNs, r.P99Ns = quantile(walls, 0.5), quantile(walls, 0.99)
	if floorMedian > 0 && r.MedianNs > 0 {
		r.MedianRatio = round2(float64(r.MedianNs) / float64(floorMedian))
	}
	for _, ep := range []string{"imds", "federation", "token-attempts"} {
		if n := b.e.Count(ep); n > 0 {
			r.PerRun[ep] = round2(float64(n) / float64(runs))
		}
	}
	return r
}

// burst starts n get processes at once on an empty cache, one per entry of
// hosts (cycled), as docker build or a node boot does.
func (b *bench) burst(name string, n int, id identity, hosts []string) Result {
	r := Result{Name: name, Runs: n, Totals: map[string]int{}}
	cache := b.freshCache()
	env := b.env(id, cache)
	ins := make([]string, len(hosts))
	for i, h := range hosts {
		p, err := b.stdinFile(h)
		if err != nil {
			r.Failures, r.Note = n, err.Error()
			return r
		}
		ins[i] = p
	}
	b.e.ResetCounters()
	xs := make([]execution, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { xs[i] = execMeasured(filepath.Join(b.bin, helperBin), []string{"get"}, env, ins[i%len(ins)]) })
	}
	wg.Wait()
	var walls []int64
	for _, x := range xs {
		if x.err != nil || !bytes.Contains(x.stdout, []byte(`"Username":"BEARER_TOKEN"`)) {
			r.Failures++
			if x.err != nil && r.Note == "" {
				r.Note = firstLine(x.err)
			}
			continue
		}
		walls = append(walls, int64(x.wall))
		r.PeakRSSKiB = max(r.PeakRSSKiB, x.rssKiB)
	}
	r.MedianNs, r.P99Ns = quantile(walls, 0.5), quantile(walls, 0.99)
	for _, ep := range []string{"imds", "federation", "token-attempts"} {
		if c := b.e.Count(ep); c > 0 {
			r.Totals[ep] = c
		}
	}
	return r
}

// sameAnswer matches what may differ between two answers with the same
// token: the kubelet cache duration counts down with the token's life.
var sameAnswer = regexp.MustCompile(`"cacheDuration":"[^"]*"`)

// registries are n distinct OCIR hosts of one realm, all three name forms.
func registries(n int) []string {
	var out []string
	for _, r := range [][2]string{{"iad", "us-ashburn-1"}, {"phx", "us-phoenix-1"}, {"fra", "eu-frankfurt-1"}, {"lhr", "uk-london-1"},
		{"nrt", "ap-tokyo-1"}, {"syd", "ap-sydney-1"}, {"gru", "sa-saopaulo-1"}, {"yyz", "ca-toronto-1"},
		{"ams", "eu-amsterdam-1"}, {"bom", "ap-mumbai-1"}, {"icn", "ap-seoul-1"}} {
		out = append(out, r[0]+".ocir.io", r[1]+".ocir.io", "ocir."+r[1]+".oci.oraclecloud.com")
	}
	return out[:n]
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func quantile(v []int64, q float64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[max(0, int(math.Ceil(q*float64(len(s))))-1)]
}

func quantileF(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[max(0, int(math.Ceil(q*float64(len(s))))-1)]
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func ms(ns int64) string {
	if ns == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(ns)/1e6)
}

// printTable writes the results as a Markdown table (the README carries
// the latest one).
func printTable(w io.Writer, rep Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(w, "\n%s/%s, %d CPUs, %s\n\n", rep.GoOS, rep.GoArch, rep.CPUs, rep.When.Format(time.RFC3339))
	fmt.Fprintln(tw, "| case\t| runs\t| median ms\t| p99 ms\t| × floor (median)\t| × floor (p99)\t| CPU × floor\t| page faults (floor)\t| peak RSS MiB\t| failures\t| OCI requests\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|")
	for _, r := range rep.Results {
		ratio, p99 := "-", "-"
		if r.MedianRatio > 0 {
			ratio = fmt.Sprintf("%.2f", r.MedianRatio)
		}
		if r.P99Ratio > 0 {
			p99 = fmt.Sprintf("%.2f", r.P99Ratio)
		}
		cpu := "-"
		if r.CPURatio > 0 {
			cpu = fmt.Sprintf("%.2f", r.CPURatio)
		}
		faults := "-"
		if r.Faults > 0 {
			faults = fmt.Sprintf("%d (%d)", r.Faults, r.FloorFaults)
		}
		reqs := requests(r)
		if r.BoundNs > 0 {
			reqs += fmt.Sprintf("; bound %s ms, excess %s ms", ms(r.BoundNs), ms(r.MedianNs-r.BoundNs))
		}
		if r.AddedNs != 0 {
			reqs += fmt.Sprintf("; latency added %s ms = %.1f round trips", ms(r.AddedNs), r.RoundTrips)
		}
		fmt.Fprintf(tw, "| %s\t| %d\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %.1f\t| %d\t| %s\t|\n", r.Name, r.Runs, ms(r.MedianNs), ms(r.P99Ns), ratio, p99, cpu,
			faults, float64(r.PeakRSSKiB)/1024, r.Failures, reqs)
	}
	tw.Flush()
	if rep.Results[0].FloorMedian > 0 {
		fmt.Fprintf(w, "\nfloor (read stdin + one JSON file, print the answer): median %s ms, peak RSS %.1f MiB\n",
			ms(rep.Results[0].FloorMedian), float64(rep.Results[0].FloorRSSKiB)/1024)
	}
	for _, r := range rep.Results {
		if r.Note != "" {
			fmt.Fprintf(w, "note: %s: %s\n", r.Name, r.Note)
		}
	}
}

func requests(r Result) string {
	var parts []string
	label := map[string]string{"imds": "metadata", "federation": "federation", "token-attempts": "token"}
	for _, ep := range []string{"imds", "federation", "token-attempts"} {
		if v, ok := r.PerRun[ep]; ok {
			parts = append(parts, fmt.Sprintf("%s %g/run", label[ep], v))
		}
		if v, ok := r.Totals[ep]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", label[ep], v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// writeInPages writes raw to a new executable file one 4 KiB page per
// write, as the linker's output is written page by page.
func writeInPages(path string, raw []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	for len(raw) > 0 {
		n := min(len(raw), 4096)
		if _, err := f.Write(raw[:n]); err != nil {
			f.Close()
			return err
		}
		raw = raw[n:]
	}
	return f.Close()
}
