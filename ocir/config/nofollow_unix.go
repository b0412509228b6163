//go:build !windows

package config

import "syscall"

const openNoFollow = syscall.O_NOFOLLOW
