package ops

import (
	"math"
	"math/rand"
	"runtime"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bigLayerCases are layers large enough for every parallel split in the
// ops and kernels (quantization, rescale, products, image and plane
// loops) to engage with 2 and 3 threads.
func bigLayerCases() []layerCase {
	conv := func(args ConvArgs) func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) {
		return func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) { return Conv2d(x, w, s, args) }
	}
	return []layerCase{
		{name: "linear/lenet-fc1", xs: []int{64, 400}, ws: []int{120, 400}, wAxis: 0,
			build: func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) { return Linear(x, w, s, OutIn) }},
		{name: "linear/inout", xs: []int{33, 70}, ws: []int{70, 29}, wAxis: 1,
			build: func(x, w *gorgonia.Node, s *LayerState) (*gorgonia.Node, error) { return Linear(x, w, s, InOut) }},
		{name: "conv/dense", xs: []int{9, 6, 20, 17}, ws: []int{16, 6, 5, 5}, wAxis: 0, build: conv(ConvArgs{Pad: [2]int{2, 1}})},
		{name: "conv/first-layer", xs: []int{16, 1, 28, 28}, ws: []int{6, 1, 5, 5}, wAxis: 0, build: conv(ConvArgs{Pad: [2]int{2, 2}})},
		{name: "conv/depthwise", xs: []int{4, 32, 25, 23}, ws: []int{32, 1, 3, 3}, wAxis: 0,
			build: conv(ConvArgs{Pad: [2]int{1, 1}, Groups: 32})},
		{name: "conv/depthwise-stride2", xs: []int{3, 24, 21, 20}, ws: []int{48, 1, 3, 3}, wAxis: 0,
			build: conv(ConvArgs{Stride: [2]int{2, 2}, Pad: [2]int{1, 1}, Groups: 24})},
	}
}

// outLen returns the number of outputs of a layer case.
func outLen(t *testing.T, lc layerCase) int {
	t.Helper()
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, len(lc.xs), gorgonia.WithShape(lc.xs...), gorgonia.WithName("x"))
	w := gorgonia.NewTensor(g, tensor.Float32, len(lc.ws), gorgonia.WithShape(lc.ws...), gorgonia.WithName("w"))
	y, err := lc.build(x, w, NewLayerState("shape", 1))
	if err != nil {
		t.Fatal(err)
	}
	return y.Shape().TotalSize()
}

// TestResultsIndependentOfThreadCount runs forward and backward of every
// layer in every mode with 1, 2 and 3 threads: outputs and gradients must
// be identical bit for bit (elementwise work is split, and every float sum
// keeps one order whatever the split).
func TestResultsIndependentOfThreadCount(t *testing.T) {
	r := rand.New(rand.NewSource(19))
	table := tableOf(t, false, true, func(a, b int) int { return a*b/3 + a - 7 })
	for _, lc := range append(layerCases(), bigLayerCases()...) {
		x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
		gout := randFloats(r, outLen(t, lc), 1)
		for _, mode := range []Mode{Float, Quantized, Approximate} {
			t.Run(lc.name+"/"+mode.String(), func(t *testing.T) {
				var ref [3][]float32
				for _, threads := range []int{1, 2, 3} {
					s := quantState(lc.name, mode, lc.ws[lc.wAxis], lc.wAxis)
					s.Threads = threads
					if err := s.SetTable(table); err != nil {
						t.Fatal(err)
					}
					y, dx, dw, _ := graphGrads(t, lc, s, x, w, gout)
					got := [3][]float32{y, dx, dw}
					if threads == 1 {
						ref = got
						continue
					}
					for k, what := range []string{"y", "dx", "dw"} {
						for i := range got[k] {
							if math.Float32bits(got[k][i]) != math.Float32bits(ref[k][i]) {
								t.Fatalf("%s[%d] = %g with %d threads, %g with 1", what, i, got[k][i], threads, ref[k][i])
							}
						}
					}
				}
			})
		}
	}
}

// TestGradientOpsQuantizeWhenForwardDidNotKeep checks the gradient ops'
// own quantization: they reuse the forward run's fake-quantized inputs and
// masks only for the very data the forward run saw. Handed other memory
// with the same values, or a forward run that kept nothing, they must
// compute the same gradients themselves.
func TestGradientOpsQuantizeWhenForwardDidNotKeep(t *testing.T) {
	r := rand.New(rand.NewSource(20))
	table := Gradient{Kind: TableGradient, Window: 3}
	for _, lc := range layerCases() {
		for _, v := range []struct {
			mode Mode
			grad Gradient
		}{{Quantized, Gradient{}}, {Approximate, Gradient{}}, {Approximate, table}} {
			mode := v.mode
			t.Run(lc.name+"/"+mode.String()+"/"+v.grad.String(), func(t *testing.T) {
				s := quantState(lc.name, mode, lc.ws[lc.wAxis], lc.wAxis)
				if err := s.SetTable(tableOf(t, false, true, func(a, b int) int { return a*b/3 + (a*a)%17 })); err != nil {
					t.Fatal(err)
				}
				if err := s.SetGradient(v.grad); err != nil {
					t.Fatal(err)
				}
				x, w := denseOf(lc.xs, randFloats(r, prod(lc.xs), 1.5)), denseOf(lc.ws, randFloats(r, prod(lc.ws), 1))
				dy := denseOf([]int{outLen(t, lc)}, randFloats(r, outLen(t, lc), 1))
				fwd, grads := directOps(t, lc, s)
				// run runs the forward op on x and w, then the gradient ops on
				// inputs (the same values, maybe in other memory).
				run := func(keep bool, inputs ...gorgonia.Value) [2][]float32 {
					t.Helper()
					setGrads(fwd, keep)
					y, err := fwd.Do(x, w)
					if err != nil {
						t.Fatal(err)
					}
					if err := dy.Reshape(y.Shape()...); err != nil {
						t.Fatal(err)
					}
					var out [2][]float32
					for i, g := range grads {
						v, err := g.Do(append(inputs, dy)...)
						if err != nil {
							t.Fatal(err)
						}
						out[i] = copyFloats(v)
					}
					return out
				}
				reused := run(true, x, w)
				copies := run(true, x.Clone().(*tensor.Dense), w.Clone().(*tensor.Dense))
				notKept := run(false, x, w)
				for i := range reused {
					for j := range reused[i] {
						if reused[i][j] != copies[i][j] || reused[i][j] != notKept[i][j] {
							t.Fatalf("grad %d [%d]: reused %g, own from copies %g, own after a forward that kept nothing %g",
								i, j, reused[i][j], copies[i][j], notKept[i][j])
						}
					}
				}
				// Other values than the forward run saw: the gradients are
				// those of the new values (as after a forward run on them),
				// not of the kept ones.
				x2, w2 := denseOf(lc.xs, randFloats(r, prod(lc.xs), 1.5)), denseOf(lc.ws, randFloats(r, prod(lc.ws), 1))
				want := run(false, x2, w2) // own quantization of x2, w2
				for i, g := range grads {
					setGrads(fwd, true)
					if _, err := fwd.Do(x, w); err != nil {
						t.Fatal(err)
					}
					v, err := g.Do(x2, w2, dy)
					if err != nil {
						t.Fatal(err)
					}
					stale := copyFloats(v)
					for j := range want[i] {
						if stale[j] != want[i][j] {
							t.Fatalf("grad %d [%d] on new inputs = %g, want %g", i, j, stale[j], want[i][j])
						}
					}
				}
			})
		}
	}
}

// directOps returns a layer case's forward op and its two gradient ops,
// to be called directly.
func directOps(t *testing.T, lc layerCase, s *LayerState) (gorgonia.Op, [2]gorgonia.Op) {
	t.Helper()
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, len(lc.xs), gorgonia.WithShape(lc.xs...), gorgonia.WithName("x"))
	w := gorgonia.NewTensor(g, tensor.Float32, len(lc.ws), gorgonia.WithShape(lc.ws...), gorgonia.WithName("w"))
	y, err := lc.build(x, w, s)
	if err != nil {
		t.Fatal(err)
	}
	var grads [2]gorgonia.Op
	switch op := y.Op().(type) {
	case *LinearOp:
		for i := range grads {
			grads[i] = &LinearGradOp{State: s, Layout: op.Layout, WRT: i, rec: op.rec}
		}
	case *Conv2dOp:
		for i := range grads {
			grads[i] = &Conv2dGradOp{State: s, Args: op.Args, WRT: i, rec: op.rec}
		}
	default:
		t.Fatalf("unexpected op %T", op)
	}
	return y.Op(), grads
}

// setGrads says whether the forward op's record keeps data for gradients.
func setGrads(op gorgonia.Op, keep bool) {
	switch op := op.(type) {
	case *LinearOp:
		op.rec.grads = keep
	case *Conv2dOp:
		op.rec.grads = keep
	}
}

// TestOpsReuseTheirBuffers checks that repeated runs of an op write into
// the same output tensor, never into a buffer that overlaps an input, and
// allocate (almost) nothing once warm.
func TestOpsReuseTheirBuffers(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	for _, v := range []struct {
		mode Mode
		grad Gradient
	}{{Float, Gradient{}}, {Quantized, Gradient{}}, {Approximate, Gradient{}}, {Approximate, Gradient{Kind: TableGradient, Window: 3}}} {
		mode := v.mode
		t.Run(mode.String()+"/"+v.grad.String(), func(t *testing.T) {
			lc := bigLayerCases()[4] // depthwise conv: output shaped as the input
			s := quantState("reuse", mode, lc.ws[0], 0)
			if err := s.SetTable(tableOf(t, false, true, func(a, b int) int { return a * b })); err != nil {
				t.Fatal(err)
			}
			if err := s.SetGradient(v.grad); err != nil {
				t.Fatal(err)
			}
			x, w := denseOf(lc.xs, randFloats(r, prod(lc.xs), 1)), denseOf(lc.ws, randFloats(r, prod(lc.ws), 1))
			fwd, grads := directOps(t, lc, s)
			setGrads(fwd, true)
			first, err := fwd.Do(x, w)
			if err != nil {
				t.Fatal(err)
			}
			want := copyFloats(first)
			dy := denseOf(first.Shape(), randFloats(r, first.Shape().TotalSize(), 1))
			step := func() {
				if _, err := fwd.Do(x, w); err != nil {
					t.Fatal(err)
				}
				for _, g := range grads {
					if _, err := g.Do(x, w, dy); err != nil {
						t.Fatal(err)
					}
				}
			}
			step() // warm the gradient ops
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const runs = 5
			for range runs {
				step()
			}
			runtime.ReadMemStats(&after)
			perStep := (after.TotalAlloc - before.TotalAlloc) / runs
			outBytes := uint64(4 * first.Shape().TotalSize())
			if perStep > outBytes/8 && !raceEnabled {
				t.Errorf("a warm forward+backward allocates %d bytes; the output alone is %d", perStep, outBytes)
			}
			again, err := fwd.Do(x, w)
			if err != nil {
				t.Fatal(err)
			}
			if again != first {
				t.Error("the second run did not reuse the op's output tensor")
			}
			for i, v := range copyFloats(again) {
				if v != want[i] {
					t.Fatalf("the reused output holds other values: [%d] = %g, want %g", i, v, want[i])
				}
			}
			// A preallocated value that is the input itself (same shape)
			// must not be used.
			if !first.Shape().Eq(x.Shape()) {
				t.Fatal("test layer's output is not shaped as its input")
			}
			var pre gorgonia.Value = x
			out, err := fwd.(interface {
				UsePreallocDo(gorgonia.Value, ...gorgonia.Value) (gorgonia.Value, error)
			}).UsePreallocDo(pre, x, w)
			if err != nil {
				t.Fatal(err)
			}
			if out == gorgonia.Value(x) {
				t.Error("the input was used as the output buffer")
			}
		})
	}
}

// TestUnusedInputGradientIsSkipped differentiates a first layer with
// respect to its weights only: gorgonia still adds (and runs) the gradient
// op for the data batch, which must then skip its work (leaving zeros)
// while the weight gradient stays what it is when both are asked for.
func TestUnusedInputGradientIsSkipped(t *testing.T) {
	r := rand.New(rand.NewSource(22))
	for _, lc := range append(layerCases(), bigLayerCases()[3]) {
		t.Run(lc.name, func(t *testing.T) {
			x, w := randFloats(r, prod(lc.xs), 1), randFloats(r, prod(lc.ws), 1)
			run := func(wantX bool) (dx, dw []float32) {
				g := gorgonia.NewGraph()
				xn := gorgonia.NodeFromAny(g, denseOf(lc.xs, x), gorgonia.WithName("x"))
				wn := gorgonia.NodeFromAny(g, denseOf(lc.ws, w), gorgonia.WithName("w"))
				y, err := lc.build(xn, wn, NewLayerState(lc.name, 1))
				if err != nil {
					t.Fatal(err)
				}
				loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(y))))
				wrt := gorgonia.Nodes{wn}
				if wantX {
					wrt = gorgonia.Nodes{xn, wn}
				}
				if _, err := gorgonia.Grad(loss, wrt...); err != nil {
					t.Fatal(err)
				}
				m := gorgonia.NewTapeMachine(g)
				defer m.Close()
				if err := m.RunAll(); err != nil {
					t.Fatal(err)
				}
				for _, n := range g.AllNodes() {
					switch op := n.Op().(type) {
					case *LinearGradOp:
						if op.WRT == 0 {
							dx = copyFloats(n.Value())
						}
					case *Conv2dGradOp:
						if op.WRT == 0 {
							dx = copyFloats(n.Value())
						}
					}
				}
				gw, err := wn.Grad()
				if err != nil {
					t.Fatal(err)
				}
				return dx, copyFloats(gw)
			}
			dxBoth, dwBoth := run(true)
			dxSkipped, dwOnly := run(false)
			if countNonZero(dxBoth) == 0 {
				t.Fatal("the input gradient is zero even when asked for")
			}
			if n := countNonZero(dxSkipped); n != 0 {
				t.Errorf("the unused input gradient was computed (%d non-zero values)", n)
			}
			for i := range dwBoth {
				if dwBoth[i] != dwOnly[i] {
					t.Fatalf("dw[%d] = %g without dx, %g with", i, dwOnly[i], dwBoth[i])
				}
			}
		})
	}
}

func countNonZero(v []float32) int {
	n := 0
	for _, f := range v {
		if f != 0 {
			n++
		}
	}
	return n
}

// TestNoiseIndependentOfThreads runs a Noise-mode forward and backward of
// layers with several noise chunks on 1, 2 and 3 threads, and under
// GOMAXPROCS 1, and requires the output and both gradients bit for bit
// equal: the noise is drawn per fixed chunk, not per thread.
func TestNoiseIndependentOfThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewSource(23))
	for _, lc := range bigLayerCases()[:5] {
		t.Run(lc.name, func(t *testing.T) {
			x, w := denseOf(lc.xs, randFloats(r, prod(lc.xs), 1)), denseOf(lc.ws, randFloats(r, prod(lc.ws), 1))
			var ref [][]float32
			for _, run := range []struct{ threads, procs int }{{1, 1}, {2, 2}, {3, 2}, {2, 1}} {
				runtime.GOMAXPROCS(run.procs)
				s := quantState("noise", Noise, lc.ws[lc.wAxis], lc.wAxis)
				s.Training, s.NoiseSigma, s.NoiseMu, s.Threads = true, 0.2, 0.01, run.threads
				fwd, grads := directOps(t, lc, s)
				setGrads(fwd, true)
				y, err := fwd.Do(x, w)
				if err != nil {
					t.Fatal(err)
				}
				if ref == nil && y.Shape().TotalSize() <= noiseChunk {
					t.Skip("one noise chunk: nothing to split")
				}
				dy := denseOf(y.Shape(), randFloats(rand.New(rand.NewSource(5)), y.Shape().TotalSize(), 1))
				got := [][]float32{copyFloats(y)}
				for _, g := range grads {
					v, err := g.Do(x, w, dy)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, copyFloats(v))
				}
				if ref == nil {
					ref = got
					continue
				}
				for k := range ref {
					for i := range ref[k] {
						if math.Float32bits(ref[k][i]) != math.Float32bits(got[k][i]) {
							t.Fatalf("threads=%d GOMAXPROCS=%d: output %d [%d] = %v, with 1 thread %v", run.threads, run.procs, k, i, got[k][i], ref[k][i])
						}
					}
				}
			}
		})
	}
}
