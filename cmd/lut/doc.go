// Command lut inspects and converts the 256x256 product tables of 8-bit
// multipliers: the built-in approximate designs of package lut/multiplier
// and table files (.npy, .bin, .csv).
//
//	lut list                                  the built-in designs and their parameters
//	lut stats [-json] [-signed] SPEC|FILE...  error metrics, one row per table
//	lut gen -o FILE SPEC                      write a built-in as .npy, .bin or .csv
//	lut heatmap [-signed] [-grad x|w [-window H]] -o OUT.png SPEC|FILE
//	                                          picture of approx - exact, or of a slope
//	lut grad [-signed] [-window H] -o OUT.npy SPEC|FILE
//	                                          slopes along x and w, float32 (2, 256, 256)
//	lut doc [-o FILE.md] [-img DIR]           write docs/multipliers.md
//
// An argument with a table file extension (.npy, .bin, .csv) is read as a
// file; anything else is a multiplier spec such as "drum:k=4,signed=true".
// Files do not record operand signedness: -signed reads a file's operands as
// signed (both), otherwise they are unsigned. Specs carry their own signed=true.
//
// Every subcommand takes -h. Errors go to stderr and the exit status is 1
// (2 for a usage error).
package main
