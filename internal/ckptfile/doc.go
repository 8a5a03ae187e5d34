// Package ckptfile writes and reads the project's checkpoint files: a
// header line naming the kind of file and its version, a line with the
// SHA-256 digest of the payload, and the payload, one JSON document.
//
//	goapprox-train-checkpoint 2
//	sha256 <hex digest of the payload>
//	<payload>
//
// Files are written atomically (internal/atomicfile). Reading refuses a
// file larger than the format's size limit before reading it, reads
// through a bounded reader, checks the digest, so that a truncated or
// damaged file is a clear error rather than a model with wrong numbers,
// and rejects payload fields the destination does not have.
package ckptfile
