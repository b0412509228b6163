package main

import (
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// regionLookup is what lookupRegion found. Its errors are plain, as
// packages ocicli and registry return them: each caller checks them in its
// own order and words them itself.
type regionLookup struct {
	name, source string // the region asked for and where that came from

	regionErr error // from ocicli.ConfiguredRegion, when no name was given
	tableErr  error // from registry.LoadTable

	table  *registry.Table // nil when tableErr is set
	region registry.Region // valid when found
	found  bool            // region is in table
}

// lookupRegion looks name (from source) up in the region table, or when
// name is "" the region the user's OCI setup points at and its source
// (ocicli.ConfiguredRegion). The table is registry.LoadTable's: compiled in,
// extended by OCI_REGION_METADATA and ~/.oci/regions-config.json. Both
// steps always run, so that each caller keeps its own order of checks.
func (a *app) lookupRegion(name, source string) regionLookup {
	getenv := a.env.Getenv
	l := regionLookup{name: name, source: source}
	if l.name == "" {
		l.name, l.source, l.regionErr = ocicli.ConfiguredRegion(getenv)
	}
	l.table, l.tableErr = registry.LoadTable(getenv, ocicli.Home(getenv))
	if l.regionErr == nil && l.tableErr == nil {
		l.region, l.found = l.table.Lookup(l.name)
	}
	return l
}
