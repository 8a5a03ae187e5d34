// Package f32bytes converts float32 values to and from their little-endian
// IEEE 754 bytes, the form every GoApprox checkpoint stores tensors and
// optimizer moments in (as base64 inside JSON): exact for every value, NaN
// payloads and infinities included, which JSON numbers cannot hold.
package f32bytes
