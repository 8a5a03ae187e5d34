package approxlayer

import (
	"testing"

	"github.com/goapprox/goapprox/ops"
)

// State hands out a snapshot: writing to it, its quantization parameters
// included, leaves the layer as it was.
func TestStateIsASnapshot(t *testing.T) {
	m := buildModel(t, 1)
	before := m.fc.State()
	scale, zero := before.XParams.Scale[0], before.WParams.ZeroPoint[0]

	s := m.fc.State()
	s.Mode, s.Threads, s.NoiseSigma, s.FloatLikeGorgonia = ops.Approximate, 7, 3, true
	s.XParams.Scale[0] = 1e9
	s.WParams.ZeroPoint[0] = 99
	s.XHist[3] = 5

	after := m.fc.State()
	if after.Mode != ops.Float || after.Threads != 0 || after.NoiseSigma != 0 || after.FloatLikeGorgonia {
		t.Fatalf("writing to a snapshot changed the layer: mode %v, threads %d, sigma %g, gorgonia float %v",
			after.Mode, after.Threads, after.NoiseSigma, after.FloatLikeGorgonia)
	}
	if after.XParams.Scale[0] != scale || after.WParams.ZeroPoint[0] != zero || after.XHist[3] != 0 {
		t.Fatalf("writing to a snapshot's parameters changed the layer: scale %g (was %g), zero point %d (was %d), hist %d",
			after.XParams.Scale[0], scale, after.WParams.ZeroPoint[0], zero, after.XHist[3])
	}
	if after.Rand != nil {
		t.Fatal("the snapshot shares the layer's noise generator")
	}
	if after.XObserver != before.XObserver {
		t.Fatal("the snapshot does not show the layer's observer")
	}
}

// SetThreads takes 0 (all cores) or a positive count and refuses negative
// ones, per layer and on the registry, without changing anything then.
func TestSetThreads(t *testing.T) {
	m := buildModel(t, 1)
	if err := m.fc.SetThreads(3); err != nil || m.fc.Threads() != 3 || m.fc.State().Threads != 3 {
		t.Fatalf("SetThreads(3): %v, threads %d", err, m.fc.Threads())
	}
	if err := m.fc.SetThreads(-1); err == nil || m.fc.Threads() != 3 {
		t.Fatalf("SetThreads(-1): %v, threads %d; want an error and 3 kept", err, m.fc.Threads())
	}
	if err := m.reg.SetThreads(2, "conv", "dw"); err != nil {
		t.Fatal(err)
	}
	if m.conv.Threads() != 2 || m.dw.Threads() != 2 || m.fc.Threads() != 3 {
		t.Fatalf("threads %d %d %d after SetThreads(2, conv, dw); want 2 2 3", m.conv.Threads(), m.dw.Threads(), m.fc.Threads())
	}
	if err := m.reg.SetThreads(-2); err == nil {
		t.Fatal("Registry.SetThreads(-2) gave no error")
	}
	if err := m.reg.SetThreads(1, "nope"); err == nil {
		t.Fatal("Registry.SetThreads with an unknown pattern gave no error")
	}
	if m.conv.Threads() != 2 || m.fc.Threads() != 3 {
		t.Fatalf("refused SetThreads calls changed the counts: %d %d", m.conv.Threads(), m.fc.Threads())
	}
	if err := m.reg.SetThreads(0); err != nil || m.fc.Threads() != 0 {
		t.Fatalf("SetThreads(0): %v, threads %d", err, m.fc.Threads())
	}
}

// Reseed restarts the noise: the same seed draws the same noise again,
// where a plain second run draws new noise.
func TestReseedRepeatsTheNoise(t *testing.T) {
	m := buildModel(t, 1)
	if err := m.reg.SetNoise(0.5, 0); err != nil {
		t.Fatal(err)
	}
	if err := m.reg.SetMode(ops.Quantized); err != nil {
		t.Fatal(err)
	}
	m.run(t) // the observers learn, then stay: only the noise differs below
	m.reg.FreezeObservers()
	if err := m.reg.SetMode(ops.Noise); err != nil {
		t.Fatal(err)
	}
	reseed := func() {
		for i, l := range m.reg.Layers() {
			l.Reseed(int64(40 + i))
		}
	}
	reseed()
	a := m.run(t)
	b := m.run(t)
	reseed()
	c := m.run(t)
	if equal(a, b) {
		t.Fatal("two runs drew the same noise")
	}
	if !equal(a, c) {
		t.Fatal("reseeding with the same seeds drew different noise")
	}
}

// WithGorgoniaFloat sets the layer's Float mode to compute as
// gorgonia.Conv2d does; without it layers use the fast float kernels.
func TestWithGorgoniaFloat(t *testing.T) {
	m := buildModel(t, 1)
	if m.conv.State().FloatLikeGorgonia {
		t.Fatal("a layer built without WithGorgoniaFloat computes as gorgonia")
	}
	w := m.conv.Weight()
	l, err := WrapConv2d("conv2", w, ops.ConvArgs{}, WithGorgoniaFloat())
	if err != nil {
		t.Fatal(err)
	}
	if !l.State().FloatLikeGorgonia {
		t.Fatal("WithGorgoniaFloat did not reach the layer's state")
	}
}
