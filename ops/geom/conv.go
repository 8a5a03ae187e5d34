package geom

import "fmt"

// Conv is the geometry of a grouped 2-D convolution in NCHW layout:
// input N×C×H×W, weights O×(C/Groups)×KH×KW, output N×O×OutH()×OutW().
// Padding is symmetric: PadH rows above and below, PadW columns left and
// right.
type Conv struct {
	N, C, H, W       int
	O, KH, KW        int
	StrideH, StrideW int
	PadH, PadW       int
	DilH, DilW       int
	Groups           int
}

// OutH returns the output height.
func (g Conv) OutH() int { return (g.H+2*g.PadH-g.DilH*(g.KH-1)-1)/g.StrideH + 1 }

// OutW returns the output width.
func (g Conv) OutW() int { return (g.W+2*g.PadW-g.DilW*(g.KW-1)-1)/g.StrideW + 1 }

// InPerGroup returns the input channels seen by one output channel.
func (g Conv) InPerGroup() int { return g.C / g.Groups }

// OutPerGroup returns the output channels of one group.
func (g Conv) OutPerGroup() int { return g.O / g.Groups }

// FanIn returns the number of products summed into one output: (C/Groups)·KH·KW.
func (g Conv) FanIn() int { return g.InPerGroup() * g.KH * g.KW }

// XLen, WLen and YLen return the element counts of input, weights and output.
func (g Conv) XLen() int { return g.N * g.C * g.H * g.W }
func (g Conv) WLen() int { return g.O * g.InPerGroup() * g.KH * g.KW }
func (g Conv) YLen() int { return g.N * g.O * g.OutH() * g.OutW() }

// Validate reports a geometry that cannot be computed, saying which
// argument is wrong.
func (g Conv) Validate() error {
	switch {
	case g.N < 1 || g.C < 1 || g.H < 1 || g.W < 1:
		return fmt.Errorf("conv2d: input shape (%d, %d, %d, %d) must be positive", g.N, g.C, g.H, g.W)
	case g.O < 1 || g.KH < 1 || g.KW < 1:
		return fmt.Errorf("conv2d: weight shape (%d, _, %d, %d) must be positive", g.O, g.KH, g.KW)
	case g.StrideH < 1 || g.StrideW < 1:
		return fmt.Errorf("conv2d: stride (%d, %d) must be at least 1", g.StrideH, g.StrideW)
	case g.DilH < 1 || g.DilW < 1:
		return fmt.Errorf("conv2d: dilation (%d, %d) must be at least 1", g.DilH, g.DilW)
	case g.PadH < 0 || g.PadW < 0:
		return fmt.Errorf("conv2d: padding (%d, %d) must not be negative", g.PadH, g.PadW)
	case g.Groups < 1:
		return fmt.Errorf("conv2d: groups = %d must be at least 1", g.Groups)
	case g.C%g.Groups != 0 || g.O%g.Groups != 0:
		return fmt.Errorf("conv2d: groups = %d must divide both in_channels = %d and out_channels = %d", g.Groups, g.C, g.O)
	// Compare the dilated kernel with the padded input directly: OutH and
	// OutW divide with truncation toward zero, so a kernel one pixel too
	// big would still give an output size of 1.
	case g.DilH*(g.KH-1)+1 > g.H+2*g.PadH || g.DilW*(g.KW-1)+1 > g.W+2*g.PadW:
		return fmt.Errorf("conv2d: the %dx%d kernel (dilation %d, %d) does not fit the padded %dx%d input", g.KH, g.KW, g.DilH, g.DilW, g.H+2*g.PadH, g.W+2*g.PadW)
	}
	return nil
}
