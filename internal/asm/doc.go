// Package asm is the one CPU-feature gate and run-time switch of the
// module's assembly: every assembly kernel runs only where the feature
// function it asks (AVX2FMA, AVX512VBMI, ...) returns true, which needs the
// CPU to have the feature, the build to carry assembly (amd64 without the
// purego tag) and the switch (Set) to be on. With the switch off every
// kernel takes its pure-Go twin, which tests use to compare the two.
package asm
