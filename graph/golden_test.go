package graph

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/quantize"
)

// The golden operator vectors of ../shared/reference/operators, pushed
// through the whole user path: a plain Gorgonia graph (Mul or Conv2d, or
// ops.GroupedConv2d for groups > 1) is rewritten, the layer gets the case's
// frozen quantization parameters and table, and the rewritten graph's
// output and straight-through gradients must match.

// goldenCase is one case folder.
type goldenCase struct {
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

	x, w, gradOut, y, gradX, gradW array
}

// array is a float32 array read from a little-endian C-order .npy file.
type array struct {
	shape []int
	data  []float32
}

var npyField = regexp.MustCompile(`'(descr|fortran_order|shape)':\s*('[^']*'|True|False|\([^)]*\))`)

// readNPY reads the only kind of .npy file the cases hold: version 1,
// '<f4', C order.
func readNPY(path string) (array, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return array{}, err
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" || b[6] != 1 {
		return array{}, fmt.Errorf("%s: not a version 1 .npy file", path)
	}
	end := 10 + int(binary.LittleEndian.Uint16(b[8:]))
	if end > len(b) {
		return array{}, fmt.Errorf("%s: truncated header", path)
	}
	fields := map[string]string{}
	for _, m := range npyField.FindAllStringSubmatch(string(b[10:end]), -1) {
		fields[m[1]] = m[2]
	}
	if fields["descr"] != "'<f4'" || fields["fortran_order"] != "False" {
		return array{}, fmt.Errorf("%s: want '<f4' in C order, header %q", path, b[10:end])
	}
	var a array
	n := 1
	for _, f := range strings.Split(strings.Trim(fields["shape"], "()"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			d, err := strconv.Atoi(f)
			if err != nil {
				return array{}, fmt.Errorf("%s: shape %s", path, fields["shape"])
			}
			a.shape = append(a.shape, d)
			n *= d
		}
	}
	if len(b)-end != 4*n {
		return array{}, fmt.Errorf("%s: %d data bytes for %d values", path, len(b)-end, n)
	}
	a.data = make([]float32, n)
	for i := range a.data {
		a.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[end+4*i:]))
	}
	return a, nil
}

// goldenDir finds ../shared/reference/operators beside the module root.
func goldenDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Skip("module root not found")
		}
		dir = filepath.Dir(dir)
	}
	golden := filepath.Join(dir, "..", "shared", "reference", "operators")
	if _, err := os.Stat(golden); err != nil {
		t.Skipf("golden vectors not available: %v", err)
	}
	return golden
}

func loadGolden(t *testing.T, dir string) *goldenCase {
	t.Helper()
	c := &goldenCase{}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, c); err != nil {
		t.Fatalf("meta.json: %v", err)
	}
	for name, dst := range map[string]*array{"x": &c.x, "w": &c.w, "grad_out": &c.gradOut, "y": &c.y, "grad_x": &c.gradX, "grad_w": &c.gradW} {
		if *dst, err = readNPY(filepath.Join(dir, name+".npy")); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// params returns the case's frozen parameters. The cases do not record
// code ranges: weights are int8; activations are TorchApprox's unsigned
// 0..127 when their zero point is not 0, and signed int8 otherwise (for
// the non-negative inputs of those cases both give the same codes, and the
// signed range reproduces the accumulators exactly).
func (c *goldenCase) params(wAxis int) (x, w quantize.Params) {
	xmin := int32(0)
	if c.XZeroPoint == 0 {
		xmin = -128
	}
	x = quantize.PerTensor(c.XScale, c.XZeroPoint, xmin, 127)
	if c.WPerChannel {
		w = quantize.PerChannel(wAxis, c.WScale, c.WZeroPoint, -128, 127)
	} else {
		w = quantize.PerTensor(c.WScale[0], c.WZeroPoint[0], -128, 127)
	}
	return x, w
}

func (c *goldenCase) convArgs() ops.ConvArgs {
	return ops.ConvArgs{Stride: [2]int{c.Stride[0], c.Stride[1]}, Pad: [2]int{c.Padding[0], c.Padding[1]},
		Dilation: [2]int{c.Dilation[0], c.Dilation[1]}, Groups: c.Groups}
}

func fromArray(g *G.ExprGraph, name string, a array) *G.Node {
	v := tensor.New(tensor.WithShape(a.shape...), tensor.WithBacking(append([]float32(nil), a.data...)))
	return G.NewTensor(g, tensor.Float32, len(a.shape), G.WithShape(a.shape...), G.WithName(name), G.WithValue(v))
}

// transpose2 returns the transpose of a matrix.
func transpose2(a array) array {
	r, c := a.shape[0], a.shape[1]
	out := array{shape: []int{c, r}, data: make([]float32, len(a.data))}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.data[j*r+i] = a.data[i*c+j]
		}
	}
	return out
}

// relToMax fails unless every |got-want| <= tol·max|want|.
func relToMax(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

func TestGoldenVectorsThroughRewrite(t *testing.T) {
	dir := goldenDir(t)
	entries, err := lut.ReadFile(filepath.Join(dir, "lut.npy"), false, true)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob(filepath.Join(dir, "case*"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases in %s (%v)", dir, err)
	}
	for _, cdir := range cases {
		t.Run(filepath.Base(cdir), func(t *testing.T) {
			c := loadGolden(t, cdir)
			if c.Kind == "linear" {
				// x·W with W stored (in, out): per-channel axis 1.
				runGolden(t, c, entries, "x·W")
				// W·X with X's columns the samples: per-channel axis 0.
				runGolden(t, c, entries, "W·X")
			} else {
				runGolden(t, c, entries, "conv")
			}
		})
	}
}

// runGolden builds the plain graph for one case and form, rewrites it,
// and checks y, dL/dx and dL/dw for L = Σ y ⊙ grad_out.
func runGolden(t *testing.T, c *goldenCase, entries *lut.Table, form string) {
	t.Helper()
	g := G.NewGraph()
	var x, w, gout, out *G.Node
	var wantY, wantGX, wantGW array
	var opt Options
	wAxis := 0
	switch form {
	case "x·W":
		x, w = fromArray(g, "x", c.x), fromArray(g, "w", transpose2(c.w))
		gout = fromArray(g, "grad_out", c.gradOut)
		out = G.Must(G.Mul(x, w))
		wantY, wantGX, wantGW = c.y, c.gradX, transpose2(c.gradW)
		wAxis = 1
	case "W·X":
		x, w = fromArray(g, "x", transpose2(c.x)), fromArray(g, "w", c.w)
		gout = fromArray(g, "grad_out", transpose2(c.gradOut))
		out = G.Must(G.Mul(w, x))
		wantY, wantGX, wantGW = transpose2(c.y), transpose2(c.gradX), c.gradW
		opt.Weights = G.Nodes{w}
	case "conv":
		x, w = fromArray(g, "x", c.x), fromArray(g, "w", c.w)
		gout = fromArray(g, "grad_out", c.gradOut)
		a := c.convArgs()
		if a.Groups == 1 {
			out = G.Must(G.Conv2d(x, w, tensor.Shape{c.w.shape[2], c.w.shape[3]}, c.Padding, c.Stride, c.Dilation))
		} else {
			var err error
			if out, err = ops.GroupedConv2d(x, w, a); err != nil {
				t.Fatal(err)
			}
		}
		wantY, wantGX, wantGW = c.y, c.gradX, c.gradW
	}
	loss := G.Must(G.Sum(G.Must(G.HadamardProd(out, gout))))

	xp, wp := c.params(wAxis)
	preset := "torchapprox"
	if xp.Signed() {
		preset = "signed"
	}
	opt.Preset = preset
	res, err := Rewrite(g, opt)
	if err != nil {
		t.Fatal(err)
	}
	l := res.Layers.Layer("w")
	if l == nil || res.Layers.Len() != 1 {
		t.Fatalf("%s: layers %v, want [w]", form, res.Layers.Names())
	}
	tab, err := lut.New("golden", xp.Signed(), true, entries.Entries()[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetQuantParams(xp, wp); err != nil {
		t.Fatal(err)
	}
	if err := l.SetTable(tab); err != nil {
		t.Fatal(err)
	}
	if err := l.SetMode(ops.Approximate); err != nil {
		t.Fatal(err)
	}
	l.SetTraining(false)

	nx, nw := res.Node(x), res.Node(w)
	if _, err := G.Grad(res.Node(loss), nx, nw); err != nil {
		t.Fatal(err)
	}
	var y G.Value
	G.Read(res.Node(out), &y)
	vm := G.NewTapeMachine(res.Graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	gx, err := nx.Grad()
	if err != nil {
		t.Fatal(err)
	}
	gw, err := nw.Grad()
	if err != nil {
		t.Fatal(err)
	}
	relToMax(t, form+" y", y.Data().([]float32), wantY.data, 1e-6)
	relToMax(t, form+" grad_x", gx.Data().([]float32), wantGX.data, 1e-5)
	relToMax(t, form+" grad_w", gw.Data().([]float32), wantGW.data, 1e-5)
}
