package ops

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/quantize"
)

// TestGraphBuildErrors pins the messages of bad shapes and arguments given
// to the ops while a graph is built (docs/errors.md lists them): each is an
// error naming what is wrong, never a panic.
func TestGraphBuildErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	node := func(name string, shape ...int) *gorgonia.Node {
		return gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name))
	}
	s := NewLayerState("layer", 1)
	x2, w2 := node("x2", 8, 5), node("w2", 4, 3)
	x3 := node("x3", 2, 8, 5)
	x4, w4 := node("x4", 2, 3, 6, 6), node("w4", 4, 3, 3, 3)
	w4big := node("w4big", 4, 3, 7, 7)
	w4ch := node("w4ch", 4, 2, 3, 3)
	w3 := node("w3", 4, 3, 3)
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"linear: input of rank 3", func() error { return second(Linear(x3, w2, s, OutIn)) }, "rank"},
		{"linear: features differ", func() error { return second(Linear(x2, w2, s, OutIn)) }, "features"},
		{"linear: weight of rank 4", func() error { return second(Linear(x2, w4, s, OutIn)) }, "rank"},
		{"conv: input of rank 2", func() error { return second(Conv2d(x2, w4, s, ConvArgs{})) }, "rank"},
		{"conv: weight of rank 3", func() error { return second(Conv2d(x4, w3, s, ConvArgs{})) }, "rank"},
		{"conv: channels differ", func() error { return second(Conv2d(x4, w4ch, s, ConvArgs{})) }, "channel"},
		{"conv: kernel larger than the padded input", func() error { return second(Conv2d(x4, w4big, s, ConvArgs{})) }, "does not fit"},
		{"conv: negative padding", func() error { return second(Conv2d(x4, w4, s, ConvArgs{Pad: [2]int{-1, 0}})) }, "pad"},
		{"conv: negative stride", func() error { return second(Conv2d(x4, w4, s, ConvArgs{Stride: [2]int{-2, 1}})) }, "stride"},
		{"conv: negative dilation", func() error { return second(Conv2d(x4, w4, s, ConvArgs{Dilation: [2]int{1, -1}})) }, "dilation"},
		{"conv: groups do not divide the channels", func() error { return second(Conv2d(x4, w4, s, ConvArgs{Groups: 2})) }, "groups"},
		{"grouped conv: channels differ", func() error { return second(GroupedConv2d(x4, w4ch, ConvArgs{})) }, "channel"},
		{"no layer state", func() error { return second(Linear(x2, w2, nil, OutIn)) }, "LayerState"},
		{"fake quant: zero point outside the code range", func() error {
			return second(FakeQuant(x2, quantize.PerTensor(0.1, 300, 0, 255)))
		}, "zero point"},
		{"fake quant: per-channel count differs", func() error {
			return second(FakeQuant(x2, quantize.PerChannel(1, []float32{1, 1}, []int32{0, 0}, 0, 255)))
		}, "channel"},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
}

// TestStateErrors pins the run-time state errors: a table whose operand
// signedness does not fit the codes, and quantization parameters whose zero
// point lies outside their code range.
func TestStateErrors(t *testing.T) {
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"unsigned table, signed weights", func() error {
			s := NewLayerState("l", 1)
			s.XParams = quantize.PerTensor(0.1, 0, 0, 127)
			s.WParams = quantize.PerTensor(0.1, 0, -128, 127)
			return s.SetTable(lut.ExactTable(lut.Both(lut.Unsigned)))
		}, "unsigned"},
		{"signed table, unsigned activations 0..255", func() error {
			s := NewLayerState("l", 1)
			s.XParams = quantize.PerTensor(0.1, 0, 0, 255)
			s.WParams = quantize.PerTensor(0.1, 0, -128, 127)
			return s.SetTable(lut.ExactTable(lut.Both(lut.Signed)))
		}, "signed"},
		{"activation zero point outside the code range", func() error {
			s := NewLayerState("l", 1)
			s.Mode = Quantized
			s.XParams = quantize.PerTensor(0.1, 200, 0, 127)
			return s.Validate()
		}, "zero point"},
		{"weight zero point outside the code range", func() error {
			s := NewLayerState("l", 1)
			s.Mode = Approximate
			s.WParams = quantize.PerTensor(0.1, -129, -128, 127)
			return s.Validate()
		}, "zero point"},
		{"negative thread count", func() error {
			s := NewLayerState("l", 1)
			s.Threads = -1
			return s.Validate()
		}, "Threads"},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestNonFiniteOperandStops checks that a NaN or an infinity in a layer's
// input or weight stops a run in every mode that quantizes them, naming the
// layer, the operand and the element, instead of becoming the zero point's
// code; in Float mode it flows on as in any float network.
func TestNonFiniteOperandStops(t *testing.T) {
	for _, mode := range []Mode{Quantized, Noise, Approximate, Observe, Float} {
		for _, operand := range []string{"input", "weight"} {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				s := NewLayerState("fc7", 1)
				s.Mode, s.Training = mode, mode == Observe // Observe mode checks only where its observers run
				s.XParams = quantize.PerTensor(0.1, 0, -128, 127)
				s.WParams = quantize.PerTensor(0.1, 0, -128, 127)
				if mode == Approximate {
					if err := s.SetTable(lut.ExactTable(lut.Both(lut.Signed))); err != nil {
						t.Fatal(err)
					}
				}
				x := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
				w := []float32{0.1, -0.1, 0.2, -0.2, 0.3, -0.3, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2}
				if operand == "input" {
					x[4] = bad
				} else {
					w[4] = bad
				}
				y := make([]float32, 8)
				_, err := linearForward(s, OutIn, new(runRecord), y, x, w, []int{2, 3}, []int{4, 3})
				if mode == Float {
					if err != nil {
						t.Errorf("Float mode, %s %v: %v", operand, bad, err)
					}
					continue
				}
				var nf *NonFiniteError
				if !errors.As(err, &nf) {
					t.Fatalf("%s mode, %s %v: error %v, want a *NonFiniteError", mode, operand, bad, err)
				}
				if nf.Layer != "fc7" || nf.Operand != operand || nf.Index != 4 || !sameFloat(nf.Value, bad) {
					t.Errorf("%s mode: %+v, want layer fc7, %s, element 4, %v", mode, *nf, operand, bad)
				}
				if !strings.Contains(err.Error(), "fc7") || !strings.Contains(err.Error(), operand) {
					t.Errorf("message %q does not name the layer and operand", err)
				}
			}
		}
	}
}

func sameFloat(a, b float32) bool {
	return a == b || (a != a && b != b)
}

// TestNonFiniteInputFoundByQuantization checks the inputs that begin
// leaves to quantization (no observer reads them first): in convolutions
// and linear layers, with the NaN or infinity in the vector loop's part
// of the input or in its scalar tail, in inference and in training with
// frozen observers, the run stops with the *NonFiniteError begin would
// have given, and no gradient op can take its record. An active observer
// and code histograms still see the check before they read x: neither
// changes.
func TestNonFiniteInputFoundByQuantization(t *testing.T) {
	g := geom.Conv{N: 2, C: 3, H: 5, W: 7, O: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	for _, mode := range []Mode{Quantized, Noise, Approximate} {
		for _, setup := range []string{"inference", "frozen observer", "active observer", "histograms"} {
			for _, at := range []int{3, g.XLen() - 2} { // vector part, scalar tail
				for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
					for _, layer := range []string{"conv", "linear"} {
						name := fmt.Sprintf("%s %s %s x[%d]=%v", mode, setup, layer, at, bad)
						s := NewLayerState("c3", 1)
						s.Mode = mode
						s.XParams = quantize.PerTensor(0.05, 0, -128, 127)
						s.WParams = quantize.PerTensor(0.05, 0, -128, 127)
						if mode == Approximate {
							if err := s.SetTable(lut.ExactTable(lut.Both(lut.Signed))); err != nil {
								t.Fatal(err)
							}
						}
						var obs quantize.Observer
						switch setup {
						case "frozen observer", "active observer":
							var err error
							if obs, err = quantize.NewMinMax(quantize.Scheme{Bits: 8, Signed: true}); err != nil {
								t.Fatal(err)
							}
							obs.Observe([]float32{-1, 1}, nil)
							if setup == "frozen observer" {
								obs.Freeze()
							}
							s.XObserver, s.Training = obs, true
						case "histograms":
							s.RecordHistograms = true
						}
						r := rand.New(rand.NewSource(int64(at)))
						x, w := make([]float32, g.XLen()), make([]float32, g.WLen())
						for i := range x {
							x[i] = float32(r.NormFloat64())
						}
						for i := range w {
							w[i] = float32(r.NormFloat64()) / 4
						}
						x[at] = bad
						var before []byte
						if obs != nil {
							before, _ = obs.State()
						}
						rec := new(runRecord)
						var err error
						if layer == "conv" {
							_, err = convForward(s, rec, make([]float32, g.YLen()), x, w, g)
						} else {
							n := g.XLen() / 5
							_, err = linearForward(s, OutIn, rec, make([]float32, 2*n), x, w[:2*5], []int{n, 5}, []int{2, 5})
						}
						var nf *NonFiniteError
						if !errors.As(err, &nf) || nf.Operand != "input" || nf.Index != at || !sameFloat(nf.Value, bad) {
							t.Fatalf("%s: error %v, want a *NonFiniteError for input element %d", name, err, at)
						}
						if rec.ran {
							t.Errorf("%s: the failed run's record can be taken by a gradient op", name)
						}
						if obs != nil {
							if after, _ := obs.State(); string(after) != string(before) {
								t.Errorf("%s: the observer changed", name)
							}
						}
						if s.XHist != ([256]int64{}) {
							t.Errorf("%s: the code histogram counted the input", name)
						}
					}
				}
			}
		}
	}
}
