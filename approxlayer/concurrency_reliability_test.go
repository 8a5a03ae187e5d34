package approxlayer

import (
	"fmt"
	"math"
	"sync"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/goapprox/goapprox/ops"
)

// TestModelsRunConcurrently runs four copies of a model (convolution,
// depthwise convolution, linear) at the same time, all on one shared
// table, in Approximate mode with two kernel threads each, observers on,
// several passes, and requires every output to equal that of a copy run
// alone. Under go test -race it checks that layers share nothing mutable
// but the immutable table and the kernels' worker pool.
func TestModelsRunConcurrently(t *testing.T) {
	tab := unsignedTable(t)
	const copies, passes = 4, 3
	build := func() *model {
		m := buildModel(t, 1)
		if err := m.reg.SetTable(tab); err != nil {
			t.Fatal(err)
		}
		if err := m.reg.SetMode(ops.Approximate); err != nil {
			t.Fatal(err)
		}
		if err := m.reg.SetThreads(2); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// run makes passes over the model on one machine (the observers move
	// the quantization parameters between passes) and returns each output.
	run := func(m *model) ([][]float32, error) {
		var v G.Value
		G.Read(m.out, &v)
		vm := G.NewTapeMachine(m.g)
		defer vm.Close()
		var outs [][]float32
		for p := 0; p < passes; p++ {
			if err := vm.RunAll(); err != nil {
				return nil, err
			}
			outs = append(outs, append([]float32(nil), v.Data().([]float32)...))
			vm.Reset()
		}
		return outs, nil
	}
	want, err := run(build())
	if err != nil {
		t.Fatal(err)
	}
	models := make([]*model, copies)
	for i := range models {
		models[i] = build()
	}
	got := make([][][]float32, copies)
	errs := make([]error, copies)
	var wg sync.WaitGroup
	for i := range models {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = run(models[i])
		}()
	}
	wg.Wait()
	for i := range models {
		if errs[i] != nil {
			t.Fatalf("copy %d: %v", i, errs[i])
		}
		if err := sameOutputs(got[i], want); err != nil {
			t.Errorf("copy %d run concurrently: %v", i, err)
		}
	}
}

func sameOutputs(got, want [][]float32) error {
	for p := range want {
		for j := range want[p] {
			if math.Float32bits(got[p][j]) != math.Float32bits(want[p][j]) {
				return fmt.Errorf("pass %d output %d = %v, alone %v", p, j, got[p][j], want[p][j])
			}
		}
	}
	return nil
}
