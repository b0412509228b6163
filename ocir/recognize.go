package ocir

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// table is the region table: the SDK's regions plus OCI_REGION_METADATA
// and ~/.oci/regions-config.json, loaded once, when first needed.
func (p *Provider) table() *registry.Table {
	p.regionsOnce.Do(func() {
		t, err := registry.LoadTable(p.getenv, ocicli.Home(p.getenv))
		if err != nil {
			p.log.Warn("ignoring extra region metadata", "err", err)
			t = registry.DefaultTable()
		}
		p.loaded = t
	})
	return p.loaded
}

// recognize resolves serverURL to an OCIR host (a known region's host, a
// host the config file declares) or a configured mirror, from local facts
// only. Every Provider entry point that takes a server URL starts here.
func (p *Provider) recognize(serverURL string) (registry.Registry, error) {
	if err := p.built(); err != nil {
		return registry.Registry{}, err
	}
	host, err := registry.Host(serverURL)
	if err != nil {
		return registry.Registry{}, &Error{Kind: ErrNotOCIRHost, Err: err}
	}
	for _, m := range p.cfg.Mirrors {
		if mh, err := registry.Host(m.Host); err == nil && mh == host {
			// Signed requests go only to OCIR (or a loopback test endpoint),
			// whatever the config file says.
			if err := p.checkTokenURL(m.TokenURL); err != nil {
				return registry.Registry{}, &Error{Kind: ErrNotOCIRHost, Registry: host, Err: fmt.Errorf("mirror %s: %w", host, err)}
			}
			return registry.Registry{Host: host, Form: registry.FormMirror, TokenEndpoint: m.TokenURL}, nil
		}
	}
	reg, ok, err := p.ocirHost(host)
	if err != nil {
		return registry.Registry{}, &Error{Kind: ErrIdentityBroken, Registry: host, Err: err}
	}
	if ok {
		return reg, nil
	}
	return registry.Registry{}, &Error{Kind: ErrNotOCIRHost, Registry: host,
		Err: errors.New("OCIR hosts are <region-key>.ocir.io, <region-id>.ocir.io or ocir.<region-id>.oci.<realm-domain>")}
}

// ocirHost recognises a canonical host as OCIR: a host form of a known
// region, or a host the config file declares. err reports a declaration
// naming an unknown region.
func (p *Provider) ocirHost(host string) (registry.Registry, bool, error) {
	if reg, ok := p.table().Recognize(host); ok {
		return reg, true, nil
	}
	for _, d := range p.cfg.Hosts {
		if dh, err := registry.Host(d.Host); err != nil || dh != host || strings.Contains(dh, ":") {
			continue
		}
		r, ok := p.table().Lookup(d.Region)
		if !ok {
			return registry.Registry{}, false, fmt.Errorf("config hosts: %s names unknown region %q", d.Host, d.Region)
		}
		return registry.Registry{Host: host, Region: r, Form: registry.FormDeclared}, true, nil
	}
	return registry.Registry{}, false, nil
}

// checkTokenURL is the gate for a URL that will receive a signed request
// other than an OCIR host's own token URL: https (plain http only on
// loopback), an ASCII host that passes registry.Host, and that host an
// OCIR host (built in or declared) or loopback.
func (p *Provider) checkTokenURL(raw string) error {
	if err := config.ValidateTokenURL(raw); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if config.IsLoopback(u.Hostname()) {
		return nil
	}
	host, err := registry.Host(u.Host)
	if err != nil {
		return err
	}
	if _, ok, _ := p.ocirHost(host); !ok {
		return fmt.Errorf("tokenURL host %s is not an OCIR host; refusing to sign for it", u.Host)
	}
	return nil
}
