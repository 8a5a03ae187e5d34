// Package npy reads and writes NumPy .npy files (numpy.lib.format): the
// header of any .npy file, whole little-endian float32 and int32 arrays, and
// float32 and int32 arrays written as numpy.save writes them. Package lut
// reads its tables through it, and internal/golden its test vectors.
package npy
