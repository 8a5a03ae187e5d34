package ops

import (
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// TestObserveModeIsFloatWithObservers checks Observe mode on every layer
// kind, float32 and float64: outputs and straight-through gradients are
// Float mode's bit for bit, the observers see each training run (and no
// evaluation run), and the parameters they hand out become the state's.
func TestObserveModeIsFloatWithObservers(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	for _, lc := range append(layerCases(), vectorCase()) {
		t.Run(lc.name, func(t *testing.T) {
			x, w := randFloats(r, prod(lc.xs), 1.5), randFloats(r, prod(lc.ws), 1)
			gout := randFloats(r, len(lc.ref(x, w)), 1)
			observing := func() *LayerState {
				s := NewLayerState(lc.name, 1)
				s.Mode, s.Training = Observe, true
				s.XObserver = &fixedObserver{qmin: 0, qmax: 127}
				s.WObserver = &fixedObserver{qmin: -127, qmax: 127}
				return s
			}
			plain := NewLayerState(lc.name, 1)
			plain.Training = true

			y, dx, dw, _ := graphGrads(t, lc, plain, x, w, gout)
			s := observing()
			yo, dxo, dwo, _ := graphGrads(t, lc, s, x, w, gout)
			sameBits(t, "y", yo, y)
			sameBits(t, "dx", dxo, dx)
			sameBits(t, "dw", dwo, dw)
			xo, wo := s.XObserver.(*fixedObserver), s.WObserver.(*fixedObserver)
			if xo.seen != 1 || wo.seen != 1 {
				t.Fatalf("observers saw %d and %d runs, want 1 each", xo.seen, wo.seen)
			}
			var maxX, maxW float32
			for _, v := range x {
				maxX = max(maxX, v, -v)
			}
			for _, v := range w {
				maxW = max(maxW, v, -v)
			}
			if xo.maxAbs != maxX || wo.maxAbs != maxW {
				t.Errorf("observers saw max |x| %v and |w| %v, want %v and %v", xo.maxAbs, wo.maxAbs, maxX, maxW)
			}
			if got, want := s.XParams.Scale[0], maxX/127; got != want || s.XParams.QMax != 127 {
				t.Errorf("activation scale %v (qmax %d), want the observer's %v (127)", got, s.XParams.QMax, want)
			}

			y64, dx64, dw64 := graphGrads64(t, lc, NewLayerState(lc.name, 1), x, w, gout)
			s64 := observing()
			yo64, dxo64, dwo64 := graphGrads64(t, lc, s64, x, w, gout)
			sameBits(t, "float64 y", yo64, y64)
			sameBits(t, "float64 dx", dxo64, dx64)
			sameBits(t, "float64 dw", dwo64, dw64)
			if s64.XObserver.(*fixedObserver).seen != 1 {
				t.Error("the float64 layer's observer did not see the run")
			}

			ev := observing()
			ev.Training = false
			forwardOnly(t, lc, ev, x, w)
			if ev.XObserver.(*fixedObserver).seen != 0 || ev.WObserver.(*fixedObserver).seen != 0 {
				t.Error("an evaluation run in Observe mode fed the observers")
			}
		})
	}
}

// TestObserveModeRejectsNonFinite checks that a NaN reaching a layer in
// Observe mode stops the run before the observers take it in.
func TestObserveModeRejectsNonFinite(t *testing.T) {
	for _, mode := range []Mode{Observe, Quantized} {
		s := NewLayerState("fc7", 1)
		s.Mode, s.Training = mode, true
		obs := &fixedObserver{qmin: 0, qmax: 127}
		s.XObserver = obs
		x := []float32{0.1, 0.2, 0.3, 0.4, float32(math.NaN()), 0.6}
		w := []float32{0.1, -0.1, 0.2, -0.2, 0.3, -0.3, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2}
		_, err := linearForward(s, OutIn, new(runRecord), make([]float32, 8), x, w, []int{2, 3}, []int{4, 3})
		var nf *NonFiniteError
		if !errors.As(err, &nf) || nf.Index != 4 || nf.Operand != "input" || nf.Mode != mode {
			t.Fatalf("%v mode: error %v, want a NonFiniteError for input element 4", mode, err)
		}
		if mode == Observe && !strings.Contains(err.Error(), "observers") {
			t.Errorf("error %q does not say the observers would take the value", err)
		}
		if obs.seen != 0 {
			t.Errorf("%v mode: the observer saw the run with a NaN", mode)
		}
	}
	// In evaluation Observe mode is Float: no observer runs, nothing is
	// refused.
	s := NewLayerState("fc7", 1)
	s.Mode = Observe
	x := []float32{0.1, 0.2, 0.3, 0.4, float32(math.NaN()), 0.6}
	w := make([]float32, 12)
	if _, err := linearForward(s, OutIn, new(runRecord), make([]float32, 8), x, w, []int{2, 3}, []int{4, 3}); err != nil {
		t.Errorf("evaluation in Observe mode refused a NaN: %v", err)
	}
}

// sameBits fails unless got and want hold the same values bit for bit
// (float32 values widen to float64 exactly).
func sameBits[T float32 | float64](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) {
			t.Fatalf("%s[%d] = %v, Float mode gives %v", what, i, got[i], want[i])
		}
	}
}
