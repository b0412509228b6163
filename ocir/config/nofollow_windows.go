//go:build windows

package config

// Windows has no O_NOFOLLOW; symlinks there need privileges to create.
const openNoFollow = 0
