package approxlayer_test

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/approxlayer"
	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/internal/cputime"
	"github.com/goapprox/goapprox/internal/shared"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/ops/kernel"
	"github.com/goapprox/goapprox/train"
)

var report = flag.Bool("report", false, "print the LeNet-5 tables of docs/surrogate.md (Surrogate mode in LeNet-5): trains a QAT LeNet-5 on MNIST first")

// reportRanks are the surrogate ranks of the LeNet-5 tables.
var reportRanks = []int{1, 2, 4, 8}

// reportMultipliers are the built-in multipliers of the LeNet-5 tables;
// EvoApproxLib's mul8u_L40 is added when ../shared holds it.
var reportMultipliers = []string{"mitchell", "drum:k=4", "kulkarni", "trunc:t=8", "loa:l=6"}

// qatLeNet5 trains LeNet-5 on MNIST with one epoch of quantization-aware
// training on the first 10,000 training images, with the "unsigned"
// preset (uint8 activations and weights, as the unsigned multipliers
// expect), recording the code histograms of the training batches. With
// no epochs, multiplier m (the approximate phase needs one) is configured
// and the model is only calibrated when that phase starts. It skips the
// test when MNIST cannot be loaded.
func qatLeNet5(t testing.TB, qatEpochs, limit int, m string) *train.Trainer {
	t.Helper()
	if _, err := dataset.Load("mnist", dataset.Test, dataset.Options{}); err != nil {
		t.Skipf("MNIST is not available: %v", err)
	}
	cfg := train.DefaultConfig()
	cfg.Limit, cfg.QATEpochs, cfg.Quant, cfg.Seed, cfg.LUT = limit, qatEpochs, "unsigned", 1, m
	tr, err := train.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SetPhase(train.PhaseQAT); err != nil {
		t.Fatal(err)
	}
	tr.Layers().RecordHistograms(true)
	for range qatEpochs {
		if _, err := tr.TrainEpoch(); err != nil {
			t.Fatal(err)
		}
	}
	tr.Layers().RecordHistograms(false)
	return tr
}

// layerProbe runs the trained graph on one fixed test batch up to the
// outputs of some layers, on its own machine, so that those outputs can be
// compared across modes.
type layerProbe struct {
	vm   G.VM
	vals []G.Value
}

func newLayerProbe(t testing.TB, tr *train.Trainer, layers ...*approxlayer.Layer) *layerProbe {
	t.Helper()
	g := layers[0].Output().Graph()
	xs := g.ByName("x")
	if len(xs) != 1 {
		t.Fatalf("the rewritten graph has %d nodes named x", len(xs))
	}
	x := xs[0]
	test, err := dataset.Load("mnist", dataset.Test, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := test.NormalizeDefault(); err != nil {
		t.Fatal(err)
	}
	n := x.Shape()[0]
	batch := append([]float32(nil), test.Images[:n*test.SampleSize()]...)
	if err := G.Let(x, tensor.New(tensor.WithShape(x.Shape()...), tensor.WithBacking(batch))); err != nil {
		t.Fatal(err)
	}
	p := &layerProbe{vals: make([]G.Value, len(layers))}
	var roots G.Nodes
	for i, l := range layers {
		roots = append(roots, G.Read(l.Output(), &p.vals[i]))
	}
	p.vm = G.NewTapeMachine(g.ExactSubgraphRoots(roots...))
	return p
}

// run returns the probed layers' outputs in evaluation mode.
func (p *layerProbe) run(t testing.TB, tr *train.Trainer) [][]float32 {
	t.Helper()
	tr.Net().SetBatchNormTraining(false)
	tr.Layers().SetTraining(false)
	p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, len(p.vals))
	for i, v := range p.vals {
		out[i] = append([]float32(nil), v.Data().([]float32)...)
	}
	return out
}

// relErr is RMS(a - b) / RMS(ref - b): the surrogate's distance to the LUT
// path relative to the multiplier's own distance to the exact product.
func relErr(sur, lut, exact []float32) float64 {
	var num, den float64
	for i := range lut {
		d := float64(sur[i]) - float64(lut[i])
		e := float64(lut[i]) - float64(exact[i])
		num += d * d
		den += e * e
	}
	return math.Sqrt(num / den)
}

// TestSurrogateLeNet5Report prints, per multiplier and surrogate rank, the
// error of two LeNet-5 layers' outputs against the LUT path and the test
// accuracy with every layer in Surrogate mode.
func TestSurrogateLeNet5Report(t *testing.T) {
	if !*report {
		t.Skip("run with -args -report to print the LeNet-5 surrogate tables")
	}
	start := time.Now()
	tr := qatLeNet5(t, 1, 10000, "")
	defer tr.Close()
	reg := tr.Layers()
	t.Logf("layers %v; QAT took %v", reg.Names(), time.Since(start).Round(time.Second))
	qat, err := tr.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	probed := []*approxlayer.Layer{reg.Layer("conv2"), reg.Layer("fc1")}
	if probed[0] == nil || probed[1] == nil {
		t.Fatalf("LeNet-5's layers are %v; this report probes conv2 and fc1", reg.Names())
	}
	probe := newLayerProbe(t, tr, probed...)
	exact := probe.run(t, tr) // Quantized mode after QAT

	mults := append([]string(nil), reportMultipliers...)
	if dir, err := shared.LUTs(); err == nil {
		if p := filepath.Join(dir, "mul8u_L40.bin"); fileExists(p) {
			mults = append(mults, p)
		}
	}
	var rows []string
	for _, m := range mults {
		if err := tr.SetMultipliers(m, nil); err != nil {
			t.Fatal(err)
		}
		if err := tr.SetPhase(train.PhaseApprox); err != nil {
			t.Fatal(err)
		}
		lutAcc, err := tr.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		lutOut := probe.run(t, tr)
		name := strings.TrimSuffix(filepath.Base(m), ".bin")
		for _, weighted := range []bool{false, true} {
			var conv, fc, acc []string
			for _, r := range reportRanks {
				if err := reg.SetSurrogateRank(r, weighted); err != nil {
					t.Fatal(err)
				}
				if err := reg.SetMode(ops.Surrogate); err != nil {
					t.Fatal(err)
				}
				sur := probe.run(t, tr)
				ev, err := tr.Evaluate()
				if err != nil {
					t.Fatal(err)
				}
				conv = append(conv, fmt.Sprintf("%.3f", relErr(sur[0], lutOut[0], exact[0])))
				fc = append(fc, fmt.Sprintf("%.3f", relErr(sur[1], lutOut[1], exact[1])))
				acc = append(acc, fmt.Sprintf("%.2f", 100*ev.Accuracy))
			}
			fit := "uniform"
			if weighted {
				fit = "histogram"
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %.2f | %s | %s | %s |", name, fit, 100*lutAcc.Accuracy,
				strings.Join(conv, " / "), strings.Join(fc, " / "), strings.Join(acc, " / ")))
			if err := reg.SetMode(ops.Approximate); err != nil {
				t.Fatal(err)
			}
		}
	}
	fmt.Printf("QAT LeNet-5 (1 epoch, 10000 images, preset unsigned): quantized test accuracy %.2f%%\n\n", 100*qat.Accuracy)
	fmt.Println("| multiplier | fit | LUT acc % | conv2 err r=1/2/4/8 | fc1 err r=1/2/4/8 | surrogate acc % r=1/2/4/8 |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
	t.Logf("report took %v", time.Since(start).Round(time.Second))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// BenchmarkLeNet5Forward times one LeNet-5 forward pass (batch 64, up to
// the last layer's product) with every layer in Approximate mode (the
// AVX-512 LUT kernel where the CPU has it, and the portable Go kernel) and
// in Surrogate mode at ranks 1, 2, 4 and 8, with mitchell (error rank 127)
// on every layer. Speed does not depend on training, so the model is only
// calibrated.
func BenchmarkLeNet5Forward(b *testing.B) {
	tr := qatLeNet5(b, 0, 640, "mitchell")
	defer tr.Close()
	if err := tr.SetPhase(train.PhaseApprox); err != nil {
		b.Fatal(err)
	}
	reg := tr.Layers()
	layers := reg.Layers()
	probe := newLayerProbe(b, tr, layers[len(layers)-1])
	if err := reg.FitSurrogates(); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B) {
		probe.run(b, tr) // warm: buffers and surrogate fits
		b.ResetTimer()
		cpu := cputime.Process()
		for range b.N {
			probe.vm.Reset()
			if err := probe.vm.RunAll(); err != nil {
				b.Fatal(err)
			}
		}
		// On a shared machine wall time depends on the other load; the
		// CPU time the process used per pass much less so.
		b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	}
	b.Run("approximate", func(b *testing.B) {
		if err := reg.SetMode(ops.Approximate); err != nil {
			b.Fatal(err)
		}
		run(b)
	})
	b.Run("approximate-go", func(b *testing.B) {
		if err := reg.SetMode(ops.Approximate); err != nil {
			b.Fatal(err)
		}
		defer kernel.SetAssembly(kernel.SetAssembly(false))
		run(b)
	})
	b.Run("quantized", func(b *testing.B) {
		if err := reg.SetMode(ops.Quantized); err != nil {
			b.Fatal(err)
		}
		run(b)
	})
	for _, r := range reportRanks {
		b.Run(fmt.Sprintf("surrogate-r%d", r), func(b *testing.B) {
			if err := reg.SetSurrogateRank(r, false); err != nil {
				b.Fatal(err)
			}
			if err := reg.SetMode(ops.Surrogate); err != nil {
				b.Fatal(err)
			}
			run(b)
		})
	}
}
