//go:build !amd64 || purego

package asm

// This build carries no assembly: every feature reads as absent.
var features cpuFeatures
