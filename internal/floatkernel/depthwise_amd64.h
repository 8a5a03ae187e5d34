// Macros shared by the depthwise kernels (depthwise_amd64.s,
// depthwise_wgrad_amd64.s).

// HSUM leaves in the low lane of Y the sum of its eight lanes, by a fixed
// tree: high half onto low half, then pairs.
#define HSUM(Y, X) \
	VEXTRACTF128 $1, Y, X15 \
	VADDPS       X15, X, X  \
	VMOVHLPS     X, X15, X15 \
	VADDPS       X15, X, X  \
	VMOVSHDUP    X, X15     \
	VADDSS       X15, X, X
