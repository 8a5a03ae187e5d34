// Package doccheck holds tests that keep the programs printed in docs/
// compiling: each test extracts a documented program and type-checks it
// against the current module, so that an API change that breaks the
// documentation fails the build instead of the reader.
package doccheck
