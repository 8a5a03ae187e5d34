// Package kernel holds the integer kernels behind GoApprox's approximate
// operations: matrix multiplication and 2-D convolution in which every
// product of an activation code and a weight code is looked up in a
// multiplier's 256x256 table and the looked-up products are summed in int32.
//
// Each kernel has a plain reference implementation (GEMMRef, Conv2dRef) that
// is obviously correct and is the specification; the fast implementations
// (GEMM, Conv2d) must return exactly the same integers for every input and
// for any number of threads. Codes are passed as bytes: the table index of
// an integer code is its low byte (see package lut).
//
// Use: p := Prepare(table) once per table (it is immutable and shared by
// all goroutines), then GEMM and Conv2d as often as needed. Both run on all
// cores by default, on the module's shared workers (internal/parallel),
// validate their arguments and return an error for bad sizes, and take
// their working memory from a pool, so calls in steady state allocate
// nothing.
//
// How it is fast: both kernels are one row kernel. A "selector" code (an
// activation code in a GEMM whose lanes are weights, a weight code
// otherwise) picks a 256-entry table row that is looked up with up to 256
// "lane" codes at once: weights of many output features, or activations of
// many output positions. On amd64 CPUs with AVX-512 VBMI the row is held as
// two byte planes in eight vector registers and 64 lanes are looked up with
// four byte permutes (VPERMI2B); on other amd64 CPUs with AVX2 the row is
// looked up 16 entries at a time with byte shuffles (VPSHUFB), 64 lanes per
// tile. Tables whose entries span more than 65535 are served by the
// portable Go kernel, which is also used on other CPUs, with the build tag
// purego, or after SetAssembly(false). A convolution
// builds, per task, the input bytes its lanes read in one of several
// layouts (column panel, stride-phase planes, column-shifted planes, each
// optionally stacked across images), chosen by a cost estimate from
// per-byte and per-step costs measured for each kernel (see Conv2d and
// impl). Measured speeds are in docs/performance.md.
package kernel
