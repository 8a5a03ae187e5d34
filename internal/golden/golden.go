package golden

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/goapprox/goapprox/internal/npy"
	"github.com/goapprox/goapprox/quantize"
)

// Array is an array read from an .npy file. Exactly one of Float32 and
// Int32 holds its elements, in C order.
type Array = npy.Array

// maxArrayBytes bounds a golden vector file; the cases' largest arrays are
// a few hundred kilobytes.
const maxArrayBytes = 256 << 20

// ReadNPY reads a little-endian C-order float32 ('<f4') or int32 ('<i4')
// array from an .npy file of format version 1, 2 or 3.
func ReadNPY(path string) (Array, error) {
	return npy.ReadFile(path, maxArrayBytes)
}

// Meta is a case's meta.json. Stride, Padding, Dilation and Groups are
// given for conv2d cases only; the code ranges are optional (see Params).
type Meta struct {
	Kind          string    `json:"kind"` // "linear" or "conv2d"
	Stride        []int     `json:"stride"`
	Padding       []int     `json:"padding"`
	Dilation      []int     `json:"dilation"`
	Groups        int       `json:"groups"`
	XScale        float32   `json:"x_scale"`
	XZeroPoint    int32     `json:"x_zero_point"`
	WScale        []float32 `json:"w_scale"`
	WZeroPoint    []int32   `json:"w_zero_point"`
	WPerChannel   bool      `json:"w_per_channel"`
	XQuantMin     *int32    `json:"x_quant_min"`
	XQuantMax     *int32    `json:"x_quant_max"`
	WQuantMin     *int32    `json:"w_quant_min"`
	WQuantMax     *int32    `json:"w_quant_max"`
	ExpectedFrom  string    `json:"expected_from"`
	LUTConvention string    `json:"lut_convention"`
	Loss          string    `json:"loss"`
}

// check reports what a case's meta.json lacks for Params and for building
// the operator, so that a damaged file is an error rather than a panic.
func (m Meta) check() error {
	switch {
	case m.Kind != "linear" && m.Kind != "conv2d":
		return fmt.Errorf("kind %q, want \"linear\" or \"conv2d\"", m.Kind)
	case len(m.WScale) == 0 || len(m.WScale) != len(m.WZeroPoint):
		return fmt.Errorf("%d w_scale and %d w_zero_point values, want the same number, at least one",
			len(m.WScale), len(m.WZeroPoint))
	case m.Kind == "conv2d" && (len(m.Stride) != 2 || len(m.Padding) != 2 || len(m.Dilation) != 2 || m.Groups < 1):
		return errors.New("a conv2d case needs stride, padding and dilation of 2 values each and groups >= 1")
	}
	return nil
}

// Params returns the case's frozen quantization parameters, the weights'
// per-channel ones along wAxis.
//
// The code ranges are optional. By default weights are -128..127, and
// activations are 0..127 (TorchApprox's unsigned affine default) when the
// activation zero point is non-zero, and -128..127 (symmetric, signed)
// when it is 0: that is what reproduces the shared cases' accumulators
// exactly, and for non-negative inputs the two ranges give the same codes.
// The keys x_quant_min, x_quant_max, w_quant_min and w_quant_max override
// the defaults.
func (m Meta) Params(wAxis int) (x, w quantize.Params) {
	xmin := int32(0)
	if m.XZeroPoint == 0 {
		xmin = -128
	}
	x = quantize.PerTensor(m.XScale, m.XZeroPoint, orDefault(m.XQuantMin, xmin), orDefault(m.XQuantMax, 127))
	wmin, wmax := orDefault(m.WQuantMin, -128), orDefault(m.WQuantMax, 127)
	if m.WPerChannel {
		w = quantize.PerChannel(wAxis, m.WScale, m.WZeroPoint, wmin, wmax)
	} else {
		w = quantize.PerTensor(m.WScale[0], m.WZeroPoint[0], wmin, wmax)
	}
	return x, w
}

func orDefault(p *int32, d int32) int32 {
	if p != nil {
		return *p
	}
	return d
}

// Case is one case folder. X, W, GradOut, Y, GradX and GradW hold float32
// elements, Acc int32 ones (the integer accumulators before dequantization).
type Case struct {
	Name                           string // the folder's name
	Meta                           Meta
	X, W, GradOut, Y, GradX, GradW Array
	Acc                            Array
	// TorchApproxY is TorchApprox's wrong output, kept for the record
	// where the expected values come from elsewhere; nil when absent.
	TorchApproxY *Array
}

// Load reads the case folder dir.
func Load(dir string) (*Case, error) {
	c := &Case{Name: filepath.Base(dir)}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &c.Meta); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "meta.json"), err)
	}
	if err := c.Meta.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "meta.json"), err)
	}
	arrays := []struct {
		name  string
		dst   *Array
		float bool
	}{
		{"x", &c.X, true}, {"w", &c.W, true}, {"grad_out", &c.GradOut, true}, {"y", &c.Y, true},
		{"grad_x", &c.GradX, true}, {"grad_w", &c.GradW, true}, {"acc", &c.Acc, false},
	}
	for _, a := range arrays {
		if *a.dst, err = readTyped(filepath.Join(dir, a.name+".npy"), a.float); err != nil {
			return nil, err
		}
	}
	ty, err := readTyped(filepath.Join(dir, "torchapprox_y.npy"), true)
	switch {
	case err == nil:
		c.TorchApproxY = &ty
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	return c, nil
}

// readTyped reads an .npy file that must hold float32 (float) or int32
// elements.
func readTyped(path string, float bool) (Array, error) {
	a, err := ReadNPY(path)
	if err != nil {
		return Array{}, err
	}
	if float && a.Float32 == nil {
		return Array{}, fmt.Errorf("%s holds int32, want float32 ('<f4')", path)
	}
	if !float && a.Int32 == nil {
		return Array{}, fmt.Errorf("%s holds float32, want int32 ('<i4')", path)
	}
	return a, nil
}

// Cases returns the case folders in dir, sorted by name.
func Cases(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var cases []string
	for _, e := range entries {
		if e.IsDir() {
			cases = append(cases, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(cases)
	if len(cases) == 0 {
		return nil, fmt.Errorf("no case folders in %s", dir)
	}
	return cases, nil
}

// ReadLUT reads dir/lut.npy, the cases' 256x256 table indexed
// [activation byte][weight byte], as 65,536 row-major entries.
func ReadLUT(dir string) ([]int32, error) {
	path := filepath.Join(dir, "lut.npy")
	a, err := readTyped(path, false)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(a.Shape, []int{256, 256}) {
		return nil, fmt.Errorf("%s has shape %v, want (256, 256)", path, a.Shape)
	}
	return a.Int32, nil
}
