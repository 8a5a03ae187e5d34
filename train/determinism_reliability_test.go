package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"runtime"
	"sort"
	"testing"

	"github.com/goapprox/goapprox/ops/kernel"
)

// TestWeightsIndependentOfThreads trains LeNet-5 for a QAT epoch and an
// approximate epoch (4 steps each) with the integer kernels on 1, 2 and 3
// threads, under GOMAXPROCS 1 and 2, and with the kernels' assembly off,
// and requires every weight, batch-norm statistic and metric to be
// identical bit for bit. It logs a digest of the weights so that builds
// can be compared too (go test -tags purego gives the portable float
// kernels; docs/determinism.md says what differs).
func TestWeightsIndependentOfThreads(t *testing.T) {
	if testing.Short() {
		t.Skip("trains LeNet-5 four times")
	}
	runs := []struct {
		threads, procs int
		assembly       bool
	}{{1, 1, true}, {2, 2, true}, {3, 2, true}, {2, 2, false}}
	var ref map[string][]float32
	var refEpochs []EpochMetrics
	for _, r := range runs {
		name := fmt.Sprintf("threads=%d GOMAXPROCS=%d assembly=%v", r.threads, r.procs, r.assembly)
		cfg := smallConfig()
		cfg.Model, cfg.Limit, cfg.Threads = "lenet5", 256, r.threads
		cfg.FloatEpochs, cfg.QATEpochs, cfg.ApproxEpochs = 0, 1, 1
		prevProcs := runtime.GOMAXPROCS(r.procs)
		prevAsm := kernel.SetAssembly(r.assembly)
		tn := newSmall(t, cfg)
		_, err := tn.Run("")
		runtime.GOMAXPROCS(prevProcs)
		kernel.SetAssembly(prevAsm)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		weights, epochs, _ := state(t, tn)
		t.Logf("%s: weights digest %s", name, digestWeights(weights))
		if ref == nil {
			ref, refEpochs = weights, epochs
			continue
		}
		for k, w := range ref {
			for i := range w {
				if math.Float32bits(w[i]) != math.Float32bits(weights[k][i]) {
					t.Fatalf("%s: %s[%d] = %v, with 1 thread %v", name, k, i, weights[k][i], w[i])
				}
			}
		}
		for i := range refEpochs {
			a, b := refEpochs[i], epochs[i]
			if a.TrainLoss != b.TrainLoss || a.TestLoss != b.TestLoss || a.TestAccuracy != b.TestAccuracy {
				t.Fatalf("%s: epoch %d metrics %+v, with 1 thread %+v", name, i+1, b, a)
			}
		}
	}
}

// digestWeights hashes the weights in name order.
func digestWeights(weights map[string][]float32) string {
	names := make([]string, 0, len(weights))
	for k := range weights {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		h.Write([]byte(k))
		for _, v := range weights[k] {
			binary.Write(h, binary.LittleEndian, math.Float32bits(v))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
