// Package lut holds the 256x256 product table of an 8-bit multiplier: the
// object every approximate operation in GoApprox reads its products from.
//
// # Convention
//
// Everywhere in GoApprox a table is indexed lut[x][w]: the activation operand
// selects the row, the weight operand the column. An integer code is mapped
// to its index by its low byte (code & 0xFF), so an unsigned axis runs
// 0..255 and a signed axis runs 0..127, -128..-1:
//
//	index:  0   1  ...  127   128   129  ...  255
//	signed: 0   1  ...  127  -128  -127  ...   -1
//
// Most real approximate multipliers are not commutative, so the order
// matters; Transpose converts a table written the other way round.
//
// A Table is immutable once built, carries a name, the signedness of each
// operand (Signs: a Signedness, Signed or Unsigned, for the activation X and
// the weight W), and a content fingerprint (a hash of its 65,536 entries)
// that identifies it whatever it is called. Tables are read from and written
// to NumPy .npy files (TorchApprox), TFApprox .bin files and CSV: Load and
// WriteFile choose the format by extension, reads are bounded by the
// largest file a table can be, and writes are atomic. None of the formats
// records operand signedness, so readers are told it, and CheckSigns
// catches a table read with the wrong one.
//
// Gradient returns the slopes of a table along each operand, optionally
// smoothed (Window): what a multiplier-aware backward pass uses in place of
// the exact product's derivatives.
//
// Package lut/multiplier builds the tables of known approximate multipliers
// from spec strings, and lut/metrics measures a table's error. docs/luts.md
// describes the formats and how to bring tables from TorchApprox and TFApprox.
package lut
