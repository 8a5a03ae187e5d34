// Package multiplier is a library of approximate 8x8 multipliers from the
// literature, each built as a lut.Table from a spec string:
//
//	name[:key=value[,key=value]]
//
// for example "exact", "trunc:t=4", "bam:h=2,v=8", "drum:k=4,signed=true".
// The designs are exact, trunc, bam, kulkarni, mitchell, drum, roba and loa;
// List describes each with its parameters and source paper.
//
// Every design is defined on unsigned operands 0..255. With signed=true both
// operands are signed (-128..127) and the design is wrapped in sign and
// magnitude: sign(a) sign(b) M(|a|, |b|), where |-128| = 128 goes to the
// unsigned core unchanged. A signed table also serves unsigned activations
// 0..127, whose codes index the same rows.
//
// A spec's canonical form (Spec.String) names the table, so two spellings of
// one multiplier give tables of the same name and fingerprint.
package multiplier
