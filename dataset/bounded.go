package dataset

// Every file a user points the loaders at is read through
// internal/boundedfile with its format's bound: refused before a byte is
// read when it is larger than its format can be, so a wrong path (a disk
// image, a sparse file) costs neither the time nor the memory to read it.
const (
	// maxIDXFileBytes bounds an idx file on disk (compressed or not) and
	// the data its header may declare. MNIST's largest file is 47 MB.
	maxIDXFileBytes = 1 << 30
	// maxDigitsFileBytes bounds digits.csv(.gz) on disk and decompressed;
	// the real file is 57 KB compressed and 0.3 MB plain.
	maxDigitsFileBytes = 16 << 20
	// maxCIFARFileBytes bounds one CIFAR binary file; CIFAR-100's train.bin,
	// the largest, is 154 MB.
	maxCIFARFileBytes = 1 << 30
	// maxLabelFileBytes bounds a class-name file (batches.meta.txt).
	maxLabelFileBytes = 1 << 20
	// maxImageFileBytes bounds one PNG or JPEG of an image folder.
	maxImageFileBytes = 64 << 20
)
