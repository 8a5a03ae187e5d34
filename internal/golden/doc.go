// Package golden loads the golden vectors of the approximate Linear and
// Conv2d operators (../shared/reference/operators, described in
// ../shared/README.md), so that every test checking an operator against
// them reads the cases, and derives their quantization parameters, the
// same way.
//
// A case folder holds meta.json and little-endian C-order .npy arrays:
// x, w, grad_out, y, grad_x, grad_w (float32), acc (int32) and, where
// TorchApprox's own output was wrong, torchapprox_y (float32, kept for the
// record). Beside the cases, lut.npy is the 256x256 int32 table they use.
//
// The arrays are read by internal/npy as whole float32 or int32 arrays
// (little-endian, C order: all the vectors use). Tables in user files go
// through lut.ReadNPY instead, which accepts every integer dtype, byte
// order and layout NumPy writes.
package golden
