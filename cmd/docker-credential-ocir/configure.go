package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/helper/dockerconfig"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

func (a *app) configureDockerCommand() *command {
	return &command{
		name:  "configure-docker",
		usage: "add (or remove) credHelpers entries for OCIR hosts in docker's config.json",
		description: "Without --registries or --region, the hosts are those of the region of your OCI CLI profile\n" +
			"(OCI_CLI_REGION, or region= of OCI_CLI_PROFILE in the OCI config file), in both the\n" +
			"<key>.ocir.io and ocir.<region>.oci.<domain> forms. With --remove and no host selection, every\n" +
			"entry that points at this helper is removed. The file is edited in place: other keys,\n" +
			"credsStore and entries of other helpers are left alone.",
		flags: []flagSpec{
			{names: []string{"registries"}, usage: "comma-separated OCIR `HOSTS`, e.g. iad.ocir.io,ocir.us-ashburn-1.oci.oraclecloud.com", kind: listFlag},
			{names: []string{"region"}, usage: "`REGION` key or identifier (iad, us-ashburn-1) instead of the profile's"},
			{names: []string{"all-regions"}, usage: "every region of the realm of the region", def: "false", kind: boolFlag},
			{names: []string{"remove"}, usage: "remove the entries instead of adding them", def: "false", kind: boolFlag},
			{names: []string{"dry-run"}, usage: "print the change as a diff, write nothing", def: "false", kind: boolFlag},
			{names: []string{"config-dir"}, usage: "`DIR` holding config.json (default $DOCKER_CONFIG, else ~/.docker); with --podman, DIR/auth.json"},
			{names: []string{"podman"}, usage: "edit the containers auth.json (${REGISTRY_AUTH_FILE:-${XDG_CONFIG_HOME:-~/.config}/containers/auth.json}) instead", def: "false", kind: boolFlag},
		},
		action: a.configureDocker,
	}
}

// configureOptions are the parsed flags of configure-docker.
type configureOptions struct {
	registries []string
	region     string
	allRegions bool
	remove     bool
	dryRun     bool
	configDir  string
	podman     bool
}

func (a *app) configureDocker(c *call) error {
	if c.NArg() > 0 {
		return cmdline.Usagef("configure-docker takes no arguments (use --registries h1,h2)")
	}
	o := configureOptions{
		region: c.String("region"), allRegions: c.Bool("all-regions"), remove: c.Bool("remove"),
		dryRun: c.Bool("dry-run"), configDir: c.String("config-dir"), podman: c.Bool("podman"),
	}
	for _, r := range c.Strings("registries") {
		for _, h := range strings.Split(r, ",") {
			if h = strings.TrimSpace(h); h != "" {
				o.registries = append(o.registries, h)
			}
		}
	}
	if c.IsSet("registries") && len(o.registries) == 0 {
		return cmdline.Usagef("--registries: no host given")
	}
	if len(o.registries) > 0 && (o.region != "" || o.allRegions) {
		return cmdline.Usagef("--registries cannot be combined with --region or --all-regions")
	}
	p, err := a.setup()
	if err != nil {
		return err
	}

	// The hosts are chosen before the file is read, except with --remove
	// and no selection: then they are the file's entries for this helper.
	var hosts []string
	selectAll := o.remove && len(o.registries) == 0 && o.region == "" && !o.allRegions
	switch {
	case selectAll:
	case len(o.registries) > 0:
		for _, r := range o.registries {
			h, err := registry.Host(r)
			if err != nil {
				return cmdline.Usagef("--registries: %w", err)
			}
			if !o.remove {
				if _, err := p.Registry(h); err != nil {
					return cmdline.Usagef("--registries: %w", err)
				}
			}
			hosts = appendUnique(hosts, h)
		}
	default:
		if hosts, err = a.regionHosts(o); err != nil {
			return err
		}
	}

	// Edit runs plan under the file's lock, so concurrent runs each keep
	// the others' entries; plan may run twice and only computes.
	var pl configurePlan
	file, err := dockerconfig.Edit(c.Context, a.configTarget(o), dockerconfig.Options{Getenv: a.env.Getenv}, func(f *dockerconfig.File) ([]byte, error) {
		var err error
		pl, err = planConfigure(f, hosts, selectAll, o.remove)
		if err != nil || o.dryRun {
			return nil, err
		}
		return pl.data, nil
	})
	if pl.doc == nil { // nothing was planned: the file could not be read or parsed
		return err
	}
	for _, n := range pl.notes {
		fmt.Fprintf(a.env.Stderr, "%s: note: %s\n", helper.ProgramName, n)
	}
	if !o.remove {
		a.configureWarnings(o, file, pl.doc, pl.hosts)
	}
	if err != nil {
		return err
	}

	out := a.env.Stdout
	shown := file.Path
	if file.Target != file.Path {
		shown = file.Path + " (symlink to " + file.Target + ")"
	}
	switch {
	case pl.data == nil:
		fmt.Fprintf(out, "%s: nothing to change\n", shown)
	case o.dryRun:
		fmt.Fprintf(out, "dry run: %s would change as follows (nothing written)\n", shown)
		fmt.Fprint(out, lineDiff(file.Raw, pl.data, file.Target, file.Target+" (new)"))
	default:
		fmt.Fprintf(out, "updated %s\n", shown)
		for _, ch := range pl.changes {
			fmt.Fprintf(out, "  %s\n", ch)
		}
	}
	return nil
}

// configurePlan is what configure-docker makes of a config file.
type configurePlan struct {
	doc            *dockerconfig.Document // edited
	hosts          []string               // the hosts selected
	changes, notes []string               // as applyCredHelpers describes them
	data           []byte                 // the new content; nil when nothing changes
}

// planConfigure parses f and applies the selected hosts to it (with
// selectAll, every entry of this helper). It writes nothing.
func planConfigure(f *dockerconfig.File, hosts []string, selectAll, remove bool) (configurePlan, error) {
	doc, err := dockerconfig.Parse(f.Raw)
	if err != nil {
		return configurePlan{}, fmt.Errorf("%s: %w (file left untouched)", f.Target, err)
	}
	if selectAll {
		entries, _ := doc.CredHelpers() // validated by Parse
		for _, e := range entries {
			if e.Helper == helper.HelperSuffix {
				hosts = append(hosts, e.Host)
			}
		}
	}
	changes, notes, err := applyCredHelpers(doc, hosts, remove)
	if err != nil {
		return configurePlan{}, fmt.Errorf("%s: %w (file left untouched)", f.Target, err)
	}
	pl := configurePlan{doc: doc, hosts: hosts, changes: changes, notes: notes}
	if len(changes) > 0 {
		if pl.data, err = doc.Marshal(); err != nil {
			return configurePlan{}, fmt.Errorf("%s: %w (file left untouched)", f.Target, err)
		}
	}
	return pl, nil
}

// configTarget is the file configure-docker edits.
func (a *app) configTarget(o configureOptions) string {
	getenv := a.env.Getenv
	home := ocicli.Home(getenv)
	if o.podman {
		if o.configDir != "" {
			return filepath.Join(o.configDir, "auth.json")
		}
		if f := getenv("REGISTRY_AUTH_FILE"); f != "" {
			return f
		}
		return filepath.Join(xdgConfigHome(getenv, home), "containers", "auth.json")
	}
	dir := o.configDir
	if dir == "" {
		dir = getenv("DOCKER_CONFIG")
	}
	if dir == "" {
		dir = filepath.Join(home, ".docker")
	}
	return filepath.Join(dir, "config.json")
}

func xdgConfigHome(getenv func(string) string, home string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return d
	}
	return filepath.Join(home, ".config")
}

// regionHosts are the default hosts: those of --region or the profile's
// region, or of every region in its realm with --all-regions.
func (a *app) regionHosts(o configureOptions) ([]string, error) {
	l := a.lookupRegion(o.region, "--region")
	if l.tableErr != nil {
		return nil, fmt.Errorf("region table: %w", l.tableErr)
	}
	if err := l.regionErr; err != nil {
		if errors.Is(err, ocicli.ErrNoRegion) {
			return nil, fmt.Errorf("%w; pass --region (e.g. us-ashburn-1) or --registries", err)
		}
		return nil, err
	}
	if !l.found {
		if l.source == "--region" {
			return nil, cmdline.Usagef("--region: unknown region %q", l.name)
		}
		return nil, fmt.Errorf("unknown region %q (from %s); pass --region or --registries, or describe it in OCI_REGION_METADATA", l.name, l.source)
	}
	region := l.region
	regions := []registry.Region{region}
	if o.allRegions {
		regions = l.table.Regions(region.Realm)
	}
	var hosts []string
	for _, r := range regions {
		for _, h := range r.Hosts() {
			hosts = appendUnique(hosts, h)
		}
	}
	a.log.Debug("configure-docker hosts", "region", region.ID, "from", l.source, "all", o.allRegions, "count", len(hosts))
	return hosts, nil
}

// applyCredHelpers edits doc and describes each change; notes are things
// the user should know that were deliberately not changed or overwritten.
//
// Existing credHelpers keys are matched by the host they name, not by
// their spelling: "IAD.OCIR.IO" or "https://iad.ocir.io" is iad.ocir.io,
// so it is not left behind on remove; on add the exact key is set (the
// only one clients use for images named iad.ocir.io/…) and other
// spellings are reported, not changed.
func applyCredHelpers(doc *dockerconfig.Document, hosts []string, remove bool) (changes, notes []string, err error) {
	for _, h := range hosts {
		entries, err := doc.CredHelpers()
		if err != nil {
			return nil, nil, err
		}
		var same []dockerconfig.Entry // the entries for h, however spelled
		for _, e := range entries {
			if e.Host == h {
				same = append(same, e)
			} else if eh, err := registry.Host(e.Host); err == nil && eh == h {
				same = append(same, e)
			}
		}
		if remove {
			for _, e := range same {
				removed, other, err := doc.RemoveCredHelper(e.Host, helper.HelperSuffix)
				if err != nil {
					return nil, nil, err
				}
				if removed {
					changes = append(changes, fmt.Sprintf("removed credHelpers %q", e.Host))
				} else if other != "" {
					notes = append(notes, fmt.Sprintf("left credHelpers %q: %q alone: it belongs to another helper", e.Host, other))
				}
			}
			continue
		}
		// The exact key is what makes it work: the docker CLI, podman and
		// containerd look keys up as written, with the host as the image
		// names it. Other spellings of the host are the user's; they are
		// left alone and pointed out.
		key := h
		for _, e := range same {
			if e.Host != h {
				notes = append(notes, fmt.Sprintf("credHelpers %q also names %s (helper %q) and is left as is; clients match keys as written, so it serves only images named with that spelling", e.Host, h, e.Helper))
			}
		}
		prev, changed, err := doc.SetCredHelper(key, helper.HelperSuffix)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case !changed:
		case prev != "":
			changes = append(changes, fmt.Sprintf("changed credHelpers %q: %q -> %q", key, prev, helper.HelperSuffix))
			notes = append(notes, fmt.Sprintf("%s used helper %q before; it now uses %q", h, prev, helper.HelperSuffix))
		default:
			changes = append(changes, fmt.Sprintf("added credHelpers %q: %q", h, helper.HelperSuffix))
		}
	}
	return changes, notes, nil
}

// configureWarnings points out setups in which the new entries would not
// take effect: the binary missing from PATH, credsStore pointing here, or
// stored logins in "auths" that clients consult instead of the helper.
func (a *app) configureWarnings(o configureOptions, file *dockerconfig.File, doc *dockerconfig.Document, hosts []string) {
	warn := func(format string, args ...any) {
		fmt.Fprintf(a.env.Stderr, "%s: warning: "+format+"\n", append([]any{helper.ProgramName}, args...)...)
	}
	if _, err := a.env.LookPath(helper.ProgramName); err != nil {
		warn("%s is not on PATH; clients will fail with \"executable file not found\" until it is installed in a directory on PATH", helper.ProgramName)
	}
	if doc.CredsStore() == helper.HelperSuffix {
		warn("%s sets \"credsStore\": %q, which sends every registry's logins to this helper; remove it and keep only credHelpers", file.Target, helper.HelperSuffix)
	}
	logout := "docker logout"
	if o.podman {
		logout = "podman logout"
	}
	shadowWarnings(warn, file.Target, doc, hosts, "some clients use it instead of the helper", logout)
	for _, other := range a.authFilesBefore(o, file.Target) {
		of, err := dockerconfig.Read(other)
		if err != nil || !of.Exists {
			continue
		}
		od, err := dockerconfig.Parse(of.Raw)
		if err != nil {
			continue
		}
		shadowWarnings(warn, of.Target, od, hosts, "podman, skopeo and buildah read it before this file", "podman logout --authfile "+of.Target)
	}
}

func shadowWarnings(warn func(string, ...any), path string, doc *dockerconfig.Document, hosts []string, why, logout string) {
	for _, e := range doc.Auths() {
		if !e.HasSecret {
			continue
		}
		h, err := registry.Host(e.Key)
		if err != nil || !slices.Contains(hosts, h) {
			continue
		}
		warn("%s has a stored login for %s in \"auths\" and %s; remove it with `%s %s`", path, h, why, logout, h)
	}
}

// authFilesBefore lists the containers auth files that containers/image
// (podman, skopeo, buildah) consults before target.
func (a *app) authFilesBefore(o configureOptions, target string) []string {
	getenv := a.env.Getenv
	var files []string
	if f := getenv("REGISTRY_AUTH_FILE"); f != "" {
		files = append(files, f)
	} else if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		files = append(files, filepath.Join(d, "containers", "auth.json"))
	}
	if !o.podman {
		files = append(files, filepath.Join(xdgConfigHome(getenv, ocicli.Home(getenv)), "containers", "auth.json"))
	}
	var out []string
	for _, f := range files {
		if same(f, target) {
			continue
		}
		out = appendUnique(out, f)
	}
	return out
}

// same reports whether two paths name the same existing file, or are equal.
func same(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
