// Package report writes a training run's result (train.Result) as files a
// person reads: the metrics of every epoch as CSV and the training curves,
// loss and accuracy against the epoch, as a PNG plot. cmd/train writes
// them into every run folder; a program that trains its own model with
// package train writes the same files with WriteFiles.
package report
