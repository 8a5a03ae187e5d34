package ops

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/kernel"
	"github.com/goapprox/goapprox/quantize"
)

// goldenMeta is a case's meta.json. The code ranges are optional. By
// default weights are -128..127, and activations are 0..127 (TorchApprox's
// unsigned affine default) when the activation zero point is non-zero, and
// -128..127 (symmetric, signed) when it is 0: that is what reproduces the
// shared cases' accumulators exactly, and for non-negative inputs the two
// ranges give the same codes.
type goldenMeta struct {
	Kind        string    `json:"kind"`
	Stride      []int     `json:"stride"`
	Padding     []int     `json:"padding"`
	Dilation    []int     `json:"dilation"`
	Groups      int       `json:"groups"`
	XScale      float32   `json:"x_scale"`
	XZeroPoint  int32     `json:"x_zero_point"`
	WScale      []float32 `json:"w_scale"`
	WZeroPoint  []int32   `json:"w_zero_point"`
	WPerChannel bool      `json:"w_per_channel"`
	XQuantMin   *int32    `json:"x_quant_min"`
	XQuantMax   *int32    `json:"x_quant_max"`
	WQuantMin   *int32    `json:"w_quant_min"`
	WQuantMax   *int32    `json:"w_quant_max"`
}

func (m goldenMeta) convArgs() ConvArgs {
	pair := func(v []int) [2]int {
		if len(v) == 2 {
			return [2]int{v[0], v[1]}
		}
		return [2]int{}
	}
	return ConvArgs{Stride: pair(m.Stride), Pad: pair(m.Padding), Dilation: pair(m.Dilation), Groups: m.Groups}
}

func orDefault(p *int32, d int32) int32 {
	if p != nil {
		return *p
	}
	return d
}

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func goldenDir(t *testing.T) string {
	dir := os.Getenv("GOAPPROX_GOLDEN_DIR")
	if dir == "" {
		dir = filepath.Join(moduleRoot(t), "..", "shared", "reference", "operators")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("golden vectors not available (%v); set GOAPPROX_GOLDEN_DIR", err)
	}
	return dir
}

type goldenCase struct {
	meta                                goldenMeta
	x, w, gradOut, y, gradX, gradW, acc *npyArray
}

func loadCase(t *testing.T, dir string) *goldenCase {
	t.Helper()
	c := &goldenCase{}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &c.meta); err != nil {
		t.Fatalf("meta.json: %v", err)
	}
	for name, dst := range map[string]**npyArray{"x": &c.x, "w": &c.w, "grad_out": &c.gradOut, "y": &c.y,
		"grad_x": &c.gradX, "grad_w": &c.gradW, "acc": &c.acc} {
		a, err := readNPY(filepath.Join(dir, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		*dst = a
	}
	return c
}

// state builds the layer state a case describes.
func (c *goldenCase) state(t *testing.T, name string, table []int32) *LayerState {
	t.Helper()
	m := c.meta
	s := NewLayerState(name, 1)
	s.Mode = Approximate
	xmin := int32(0)
	if m.XZeroPoint == 0 {
		xmin = -128
	}
	s.XParams = quantize.PerTensor(m.XScale, m.XZeroPoint, orDefault(m.XQuantMin, xmin), orDefault(m.XQuantMax, 127))
	wmin, wmax := orDefault(m.WQuantMin, -128), orDefault(m.WQuantMax, 127)
	if m.WPerChannel {
		s.WParams = quantize.PerChannel(0, m.WScale, m.WZeroPoint, wmin, wmax)
	} else {
		s.WParams = quantize.PerTensor(m.WScale[0], m.WZeroPoint[0], wmin, wmax)
	}
	tab, err := lut.New("golden", s.XParams.QMin < 0, s.WParams.QMin < 0, table)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGolden(t *testing.T) {
	dir := goldenDir(t)
	lutArr, err := readNPY(filepath.Join(dir, "lut.npy"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		ran++
		t.Run(e.Name(), func(t *testing.T) {
			c := loadCase(t, filepath.Join(dir, e.Name()))
			s := c.state(t, e.Name(), lutArr.i32)
			// The integer accumulators and the output, from the shared
			// forward function.
			acc, y := c.forward(t, s)
			if len(acc) != len(c.acc.i32) {
				t.Fatalf("acc has %d elements, want %d", len(acc), len(c.acc.i32))
			}
			for i := range acc {
				if acc[i] != c.acc.i32[i] {
					t.Fatalf("acc[%d] = %d, want %d", i, acc[i], c.acc.i32[i])
				}
			}
			assertRel(t, "y (direct)", y, c.y.f32, 1e-6)
			// The same through a real graph, with gradients.
			gy, gx, gw := c.graphRun(t, s)
			assertRel(t, "y (graph)", gy, c.y.f32, 1e-6)
			assertRel(t, "grad_x", gx, c.gradX.f32, 1e-5)
			assertRel(t, "grad_w", gw, c.gradW.f32, 1e-5)
		})
	}
	if ran == 0 {
		t.Fatalf("no case folders in %s", dir)
	}
}

func (c *goldenCase) forward(t *testing.T, s *LayerState) ([]int32, []float32) {
	t.Helper()
	xs, ws := tensor.Shape(c.x.shape), tensor.Shape(c.w.shape)
	y := make([]float32, tensor.Shape(c.y.shape).TotalSize())
	var acc []int32
	var err error
	switch c.meta.Kind {
	case "linear":
		acc, err = linearForward(s, OutIn, new(runRecord), y, c.x.f32, c.w.f32, xs, ws)
	case "conv2d":
		var g kernel.ConvGeom
		if g, err = c.meta.convArgs().geom(xs, ws); err == nil {
			acc, err = convForward(s, new(runRecord), y, c.x.f32, c.w.f32, g)
		}
	default:
		t.Fatalf("unknown kind %q", c.meta.Kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return acc, y
}

// graphRun builds L = sum(y ⊙ grad_out) in a Gorgonia graph, runs it on a
// TapeMachine and returns y, dL/dx and dL/dw.
func (c *goldenCase) graphRun(t *testing.T, s *LayerState) (y, gx, gw []float32) {
	t.Helper()
	g := gorgonia.NewGraph()
	x := input(g, "x", c.x)
	w := input(g, "w", c.w)
	gout := input(g, "grad_out", c.gradOut)
	var out *gorgonia.Node
	var err error
	switch c.meta.Kind {
	case "linear":
		out, err = Linear(x, w, s, OutIn)
	case "conv2d":
		out, err = Conv2d(x, w, s, c.meta.convArgs())
	}
	if err != nil {
		t.Fatal(err)
	}
	return runLoss(t, g, out, gout, x, w)
}

func input(g *gorgonia.ExprGraph, name string, a *npyArray) *gorgonia.Node {
	v := tensor.New(tensor.WithShape(a.shape...), tensor.WithBacking(append([]float32(nil), a.f32...)))
	return gorgonia.NodeFromAny(g, v, gorgonia.WithName(name))
}

// runLoss differentiates sum(out ⊙ gout) with respect to x and w on a
// TapeMachine and returns out, dx and dw.
func runLoss(t *testing.T, g *gorgonia.ExprGraph, out, gout, x, w *gorgonia.Node) (y, gx, gw []float32) {
	t.Helper()
	prod, err := gorgonia.HadamardProd(out, gout)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	var yv gorgonia.Value
	gorgonia.Read(out, &yv)
	if _, err := gorgonia.Grad(loss, x, w); err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	dx, err := x.Grad()
	if err != nil {
		t.Fatal(err)
	}
	dw, err := w.Grad()
	if err != nil {
		t.Fatal(err)
	}
	return copyFloats(yv), copyFloats(dx), copyFloats(dw)
}

func copyFloats(v gorgonia.Value) []float32 {
	return append([]float32(nil), v.Data().([]float32)...)
}

// assertRel checks got against want within tol relative to the largest
// |want|.
func assertRel(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s has %d elements, want %d", what, len(got), len(want))
	}
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if scale == 0 {
		scale = 1
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %.3g > %.1g × %.3g)", what, i, got[i], want[i], d, tol, scale)
		}
	}
}
