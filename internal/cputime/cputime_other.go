//go:build !unix

package cputime

import "time"

// Process is not measured outside Unix: it returns 0, and Report reports 0.
func Process() time.Duration { return 0 }
