// Package cputime measures the CPU time of the current process, for the
// benchmarks: on a machine shared with other jobs, wall time per op swings
// with the other load while the CPU time the process itself used does not,
// so every GoApprox benchmark reports both.
package cputime
