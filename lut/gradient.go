package lut

import (
	"fmt"
	"strconv"
)

// Window is the half-width H of the moving average that smooths a table
// before its slopes are taken: the mean of the 2H+1 entries around each
// position along an operand axis. Window 0 takes the slopes of the raw
// table. It implements flag.Value, so a command can take it as a flag.
type Window int

// MaxWindow is the largest Window: a window of 2*127+1 entries spans an
// operand axis of 256 values.
const MaxWindow Window = 127

// Check returns an error unless 0 <= w <= MaxWindow.
func (w Window) Check() error {
	if w < 0 || w > MaxWindow {
		return fmt.Errorf("lut: gradient window %d is out of range: the half-width H must be 0..%d "+
			"(0 takes the slopes of the raw table)", int(w), int(MaxWindow))
	}
	return nil
}

// String returns the half-width as a decimal number.
func (w Window) String() string { return strconv.Itoa(int(w)) }

// Set parses a half-width such as "4" and checks its range.
func (w *Window) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("lut: gradient window %q is not an integer; the half-width H is 0..%d", s, int(MaxWindow))
	}
	if err := Window(n).Check(); err != nil {
		return err
	}
	*w = Window(n)
	return nil
}

// Gradients are the slopes of a table along each operand, in the table's
// own index convention: X[xi<<8|wi] is the slope of the product along the
// activation operand at the pair of byte indices (xi, wi), W[xi<<8|wi]
// its slope along the weight operand. For the exact multiplier X holds the
// weight value and W the activation value.
type Gradients struct {
	X, W [Size]float32
}

// Gradient returns the slopes of t along both operands, smoothed with the
// window h.
//
// Along the weight axis, the entries of a row are put in operand value
// order (a signed axis runs -128..127, so its index order wraps between
// index 127 and index 128). At value position p (0..255) the smoothed entry
// S[p] is the mean of the entries at positions p-h_p .. p+h_p, with
// h_p = min(h, p, 255-p): a symmetric window that shrinks at the ends, so
// that a table linear in the operand is reproduced exactly. The slope is the
// central difference (S[p+1]-S[p-1])/2 inside and the one-sided differences
// S[1]-S[0] and S[255]-S[254] at the ends. The slopes along the activation
// axis are taken the same way down each column.
func Gradient(t *Table, h Window) (*Gradients, error) {
	if err := h.Check(); err != nil {
		return nil, err
	}
	g := &Gradients{}
	var line [256]int32
	var slope [256]float64
	for a := 0; a < 256; a++ {
		// Row a, along the weight axis.
		for p := range line {
			line[p] = t.entries[a<<8|t.signs.W.IndexAt(p)]
		}
		lineSlope(&line, int(h), &slope)
		for p, s := range slope {
			g.W[a<<8|t.signs.W.IndexAt(p)] = float32(s)
		}
		// Column a, along the activation axis.
		for p := range line {
			line[p] = t.entries[t.signs.X.IndexAt(p)<<8|a]
		}
		lineSlope(&line, int(h), &slope)
		for p, s := range slope {
			g.X[t.signs.X.IndexAt(p)<<8|a] = float32(s)
		}
	}
	return g, nil
}

// lineSlope writes the slopes of one line of entries in value order,
// smoothed with half-width h, as Gradient describes.
func lineSlope(v *[256]int32, h int, slope *[256]float64) {
	var smooth [256]float64
	smoothLine(v, h, &smooth)
	slope[0] = smooth[1] - smooth[0]
	for p := 1; p < 255; p++ {
		slope[p] = (smooth[p+1] - smooth[p-1]) / 2
	}
	slope[255] = smooth[255] - smooth[254]
}

// smoothLine writes the moving averages of a line: the window sums come
// from integer prefix sums, exact for any table (256 int32 entries sum well
// within an int64), so the only rounding is the one division.
func smoothLine(v *[256]int32, h int, smooth *[256]float64) {
	var prefix [257]int64
	for p, e := range v {
		prefix[p+1] = prefix[p] + int64(e)
	}
	for p := range smooth {
		hp := min(h, p, 255-p)
		smooth[p] = float64(prefix[p+hp+1]-prefix[p-hp]) / float64(2*hp+1)
	}
}
