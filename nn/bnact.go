package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
)

// Activation is an activation a BatchNorm op applies to its own output,
// so that batch norm followed by ReLU or ReLU6 is one pass over the
// activations forward and one backward instead of two each: the forward
// pass writes act(x·k + b) directly, and the backward pass applies the
// activation's gradient mask to dy as batch norm's gradient reads it,
// recomputing the pre-activation value from x (which it reads anyway)
// rather than storing or reading it. Results are bit-identical to
// BatchNorm followed by ReLU or ReLU6.
type Activation uint8

const (
	// NoActivation is plain batch norm.
	NoActivation Activation = iota
	// ActReLU is ReLU's max(y, 0), with ReLU's gradient and NaN rules.
	ActReLU
	// ActReLU6 is ReLU6's min(max(y, 0), 6), with its gradient and NaN rules.
	ActReLU6
)

func (a Activation) String() string {
	switch a {
	case NoActivation:
		return "none"
	case ActReLU:
		return "ReLU"
	case ActReLU6:
		return "ReLU6"
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

func (a Activation) valid() bool { return a <= ActReLU6 }

// BatchNormAct is act(BatchNorm(x, scale, bias, state)) as one op: the same
// values, gradients and running statistics, bit for bit, as BatchNorm
// followed by ReLU (ActReLU) or ReLU6 (ActReLU6), in fewer passes over the
// activations. NoActivation gives plain BatchNorm.
func BatchNormAct(x, scale, bias *gorgonia.Node, state *BatchNormState, act Activation) (*gorgonia.Node, error) {
	if !act.valid() {
		return nil, fmt.Errorf("batch norm: unknown activation %v; use NoActivation, ActReLU or ActReLU6", act)
	}
	xs := x.Shape()
	if xs.Dims() != 2 && xs.Dims() != 4 {
		return nil, fmt.Errorf("batch norm: input %s has shape %v; expected (N, C, H, W) or (N, C)", x.Name(), xs)
	}
	op := &BatchNormOp{state: state, dims: xs.Dims(), channels: xs[1], act: act}
	if err := state.Validate(op.channels); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x, scale, bias)
}

// Activation returns the activation the op applies after batch norm.
func (op *BatchNormOp) Activation() Activation { return op.act }

// actParams are the constants of the fused kernels' gradient mask,
// keep = !(z <= 0) && (z < hi || passAll): ReLU keeps z > 0 and NaN (hi
// unused, passAll set); ReLU6 keeps 0 < z < 6 only (NaN fails z < 6).
// The forward kernels clamp to min(max(z, 0), hi), hi = +Inf for ReLU
// (which leaves every value, NaN included, as it is).
type actParams struct {
	hi      float32
	passAll uint32
}

func (a Activation) params() actParams {
	if a == ActReLU6 {
		return actParams{hi: 6}
	}
	return actParams{hi: float32(math.Inf(1)), passAll: 0xffffffff}
}

// keep is the gradient mask of pre-activation value z: all ones where the
// activation passes the gradient, 0 where it does not (see relu.go and
// relu6.go for the semantics).
func (p actParams) keep(z float32) uint32 {
	above0 := uint32(0xffffffff)
	if z <= 0 {
		above0 = 0
	}
	belowHi := p.passAll
	if z < p.hi {
		belowHi = 0xffffffff
	}
	return above0 & belowHi
}

// maskDy is dy where the activation passes the gradient of z, else +0, as
// reluGrad and relu6Grad compute it.
func (p actParams) maskDy(z, dy float32) float32 {
	return math.Float32frombits(math.Float32bits(dy) & p.keep(z))
}

// applyAct applies the activation to y in place, with the kernels the
// separate ReLU and ReLU6 ops use.
func applyAct(a Activation, y []float32) {
	switch a {
	case ActReLU:
		relu(y, y)
	case ActReLU6:
		relu6(y, y)
	}
}

// Plain Go fused kernels (see vec.go for the rules they follow).

// scaleShiftActGeneric sets y = act(x*k + b), as scaleShiftGeneric then
// reluGeneric or relu6Generic would.
func scaleShiftActGeneric(y, x []float32, k, b float32, a Activation) {
	y = y[:len(x)]
	if a == ActReLU6 {
		for i, v := range x {
			y[i] = min(max(float32(v*k)+b, 0), 6)
		}
		return
	}
	for i, v := range x {
		y[i] = max(float32(v*k)+b, 0)
	}
}

// bnGradXActGeneric is bnGradXGeneric with dy masked by the activation's
// gradient at z = x*kf + bf, the forward pass's pre-activation value.
func bnGradXActGeneric(dx, x, dy []float32, mean, inv, k, meanDy, meanDyX, kf, bf float32, p actParams) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	for i, v := range x {
		g := p.maskDy(float32(v*kf)+bf, dy[i])
		xhat := (v - mean) * inv
		dx[i] = k * ((g - meanDy) - float32(xhat*meanDyX))
	}
}

// dyXhatActLanesGeneric is dyXhatLanesGeneric with dy masked as in
// bnGradXActGeneric.
func dyXhatActLanesGeneric(x, dy []float32, mean, inv, kf, bf float32, p actParams, pa, pb *[lanes]float64) {
	dy = dy[:len(x)]
	for i := 0; i+lanes <= len(x); i += lanes {
		for j := range lanes {
			v := x[i+j]
			g := float64(p.maskDy(float32(v*kf)+bf, dy[i+j]))
			pa[j] += g
			pb[j] += float64(g * float64((v-mean)*inv))
		}
	}
}

// The fused kernels the op calls: AVX2 where available, plain Go for the
// rest, as in vec.go.

func scaleShiftAct(y, x []float32, k, b float32, a Activation) {
	n := vecPrefix(len(x), 8)
	if n > 0 {
		scaleShiftActAVX2(&y[:len(x)][0], &x[0], n, k, b, a.params().hi)
	}
	scaleShiftActGeneric(y[n:], x[n:], k, b, a)
}

func bnGradXAct(dx, x, dy []float32, mean, inv, k, meanDy, meanDyX, kf, bf float32, p actParams) {
	n := vecPrefix(len(x), 8)
	if n > 0 {
		bnGradXActAVX2(&dx[:len(x)][0], &x[0], &dy[:len(x)][0], n, mean, inv, k, meanDy, meanDyX, kf, bf, p.hi, p.passAll)
	}
	bnGradXActGeneric(dx[n:], x[n:], dy[n:], mean, inv, k, meanDy, meanDyX, kf, bf, p)
}

// addDyXhatAct is addDyXhat with dy masked as in bnGradXActGeneric.
func addDyXhatAct(a, b *laneSum, x, dy []float32, mean, inv, kf, bf float32, p actParams) {
	dy = dy[:len(x)]
	k := len(x) &^ (lanes - 1)
	if useAVX2() {
		if k > 0 {
			dyXhatActLanesAVX2(&x[0], &dy[0], k, mean, inv, kf, bf, p.hi, p.passAll, &a.p, &b.p)
		}
	} else {
		dyXhatActLanesGeneric(x[:k], dy[:k], mean, inv, kf, bf, p, &a.p, &b.p)
	}
	for i := k; i < len(x); i++ {
		v := x[i]
		g := float64(p.maskDy(float32(v*kf)+bf, dy[i]))
		a.tail += g
		b.tail += float64(g * float64((v-mean)*inv))
	}
}
