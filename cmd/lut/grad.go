package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/internal/npy"
	"github.com/goapprox/goapprox/lut"
)

const gradAbout = `Writes the slopes of a table along each operand as a float32 .npy array of shape
(2, 256, 256) in the table's index convention [x][w] (index = code & 0xFF): [0] is the
slope along the activation operand x, [1] the slope along the weight operand w. Along
each axis the entries are taken in operand value order (a signed axis runs -128..127),
smoothed by the mean of the 2H+1 entries around each one (the window shrinks at the
ends), and differenced centrally (one-sided at the ends). For the exact multiplier [0]
is w and [1] is x. The file is written atomically.`

func runGrad(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("grad", "[-signed] [-window H] -o OUT.npy SPEC|FILE", gradAbout, stderr)
	out := fs.String("o", "", "output `file`, .npy; required")
	signed := fs.Bool("signed", false, "read a table file with signed operands (specs say signed=true themselves)")
	var window lut.Window
	fs.Var(&window, "window", "half-width `H` of the smoothing window, 0..127 (0: slopes of the raw table)")
	pos, err := parse(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		fmt.Fprintln(stderr, "lut grad: needs exactly one SPEC or FILE and -o OUT.npy, e.g. lut grad -window 4 -o drum4-grad.npy drum:k=4")
		return errUsage
	}
	if !strings.EqualFold(filepath.Ext(*out), ".npy") {
		return fmt.Errorf("output %s: the slopes are written as a NumPy array; name it .npy", *out)
	}
	if err := notTheInput(*out, pos[0]); err != nil {
		return err
	}
	t, err := load(pos[0], *signed, stderr)
	if err != nil {
		return err
	}
	g, err := lut.Gradient(t, window)
	if err != nil {
		return err
	}
	data := make([]float32, 0, 2*lut.Size)
	data = append(append(data, g.X[:]...), g.W[:]...)
	var b bytes.Buffer
	if err := npy.WriteFloat32(&b, []int{2, 256, 256}, data); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(*out, b.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (slopes of %s, window %d)\n", *out, t.Name(), window)
	return nil
}
