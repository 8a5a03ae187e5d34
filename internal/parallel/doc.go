// Package parallel runs the independent parts of a loop on long-lived
// worker goroutines shared by the whole module, so that a training step's
// many short parallel loops (batch norm, ReLU, pooling, rescaling,
// quantization, the optimizer update) pay neither a goroutine start nor a
// fresh WaitGroup per call.
//
// Run splits [0, n) into parts, contiguous ranges fixed by n and the
// part count alone. The calling goroutine takes parts too, and parts are
// handed out on demand, so a call never waits for a helper that has not
// woken up yet: when the helpers are busy elsewhere the caller runs every
// part itself. A loop whose iterations are independent (each writes its
// own outputs, in an order fixed within the iteration) therefore gives the
// same bits for any number of threads; the package does not reorder
// anything within a part.
package parallel
