// Package shared finds the read-only material that sits beside the
// checkout as ../shared (EvoApproxLib tables, golden operator vectors), so
// that tests reading it locate it one way and skip the same clear way when
// it is absent. The module root is found by walking up from the working
// directory (a test's package directory) to go.mod. Nothing from ../shared
// is ever copied into the repository.
package shared
