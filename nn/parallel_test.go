package nn

import (
	"math"
	"runtime"
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

// The ops that split their work over threads must give the same bits for
// any number of them. Each case runs on inputs large enough to split into
// several parts and compares GOMAXPROCS 2 and 3 with 1 (one part, the
// serial loop).
func TestOpsIndependentOfThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	cases := []struct {
		name string
		run  func() [][]float32
	}{
		{"batch norm conv training", func() [][]float32 { return runBatchNormOps(tensor.Shape{32, 6, 28, 28}, true, NoActivation) }},
		{"batch norm conv eval", func() [][]float32 { return runBatchNormOps(tensor.Shape{32, 16, 10, 10}, false, NoActivation) }},
		{"batch norm relu training", func() [][]float32 { return runBatchNormOps(tensor.Shape{32, 6, 28, 28}, true, ActReLU) }},
		{"batch norm relu6 training", func() [][]float32 { return runBatchNormOps(tensor.Shape{32, 6, 28, 28}, true, ActReLU6) }},
		{"batch norm relu6 eval", func() [][]float32 { return runBatchNormOps(tensor.Shape{32, 16, 10, 10}, false, ActReLU6) }},
		{"relu", func() [][]float32 {
			x, dy := randTensor(3, 1, 100003), randTensor(4, 1, 100003)
			y := mustDo((newReLUOp(1)).Do(x))
			dx := mustDo((&ClampGradOp{dims: 1}).Do(x, dy))
			return [][]float32{y, dx}
		}},
		{"relu6", func() [][]float32 {
			x, dy := randTensor(5, 4, 100003), randTensor(6, 1, 100003)
			y := mustDo((newReLU6Op(1)).Do(x))
			dx := mustDo((&ClampGradOp{Six: true, dims: 1}).Do(x, dy))
			return [][]float32{y, dx}
		}},
		{"max pool", func() [][]float32 {
			x := randTensor(7, 1, 64, 6, 28, 28)
			// A NaN in one plane sends that part (only) through the
			// general loop.
			x.Float32s()[300*784+17] = float32(math.NaN())
			dy := randTensor(8, 1, 64, 6, 14, 14)
			op := &MaxPool2DOp{geom: poolGeom{kh: 2, kw: 2, sh: 2, sw: 2}}
			y := mustDo(op.Do(x))
			dx := mustDo((&maxPoolGradOp{fwd: op}).Do(x, dy))
			return [][]float32{y, dx}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runtime.GOMAXPROCS(1)
			want := c.run()
			for _, procs := range []int{2, 3} {
				runtime.GOMAXPROCS(procs)
				got := c.run()
				for i := range want {
					if !sameBits(got[i], want[i]) {
						t.Fatalf("GOMAXPROCS %d: output %d differs from the one-thread result", procs, i)
					}
				}
			}
		})
	}
}

// runBatchNormOps runs the forward op (with activation act) and the three
// gradient ops and returns their outputs and the running statistics.
func runBatchNormOps(shape tensor.Shape, training bool, act Activation) [][]float32 {
	c := shape[1]
	x, dy := randTensor(1, 3, shape...), randTensor(2, 1, shape...)
	scale, bias := randTensor(9, 1, c), randTensor(10, 1, c)
	st := NewBatchNormState(c)
	st.Training = training
	fwd := &BatchNormOp{state: st, dims: shape.Dims(), channels: c, act: act}
	y := mustDo(fwd.Do(x, scale, bias))
	dxT, err := (&batchNormGradOp{fwd: fwd, wrt: 0}).Do(x, scale, dy)
	if err != nil {
		panic(err)
	}
	dx := dxT.Data().([]float32)
	dScale := mustDo((&batchNormGradOp{fwd: fwd, wrt: 1}).Do(x, scale, dy, dxT))
	dBias := mustDo((&batchNormGradOp{fwd: fwd, wrt: 2}).Do(x, scale, dy, dxT))
	return [][]float32{y, slices.Clone(dx), dScale, dBias, st.Mean, st.Var}
}

func mustDo(v interface{ Data() any }, err error) []float32 {
	if err != nil {
		panic(err)
	}
	return slices.Clone(v.Data().([]float32))
}
