package train

import (
	"fmt"
	"testing"

	"github.com/goapprox/goapprox/ops"
)

// TestQATObserveEpochs checks the observer-only start of QAT: the first
// QATObserveEpochs epochs run every layer in Observe mode (float products,
// the observers learning the ranges), the later ones in Quantized mode from
// those ranges; a run stopped after an observing epoch and resumed ends as
// the uninterrupted one does.
func TestQATObserveEpochs(t *testing.T) {
	cfg := smallConfig()
	cfg.FloatEpochs, cfg.QATEpochs, cfg.QATObserveEpochs, cfg.ApproxEpochs = 1, 3, 2, 1
	modes := map[int]map[ops.Mode]bool{} // run epoch index -> modes seen in its steps
	var tn *Trainer
	var scaleAfterObserving float32
	tn = newSmall(t, cfg, WithHooks(Hooks{
		Step: func(p Phase, epoch, step int, _, _ float64) {
			idx := len(tn.Epochs()) + 1
			if modes[idx] == nil {
				modes[idx] = map[ops.Mode]bool{}
			}
			for _, l := range tn.Layers().Layers() {
				modes[idx][l.Mode()] = true
			}
		},
		EpochEnd: func(m EpochMetrics) {
			if m.Phase == PhaseQAT && m.Epoch == 2 {
				scaleAfterObserving = tn.Layers().Layers()[0].State().XParams.Scale[0]
			}
		},
	}))
	if _, err := tn.Run(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	want := []ops.Mode{ops.Float, ops.Observe, ops.Observe, ops.Quantized, ops.Approximate}
	for i, m := range want {
		if got := modes[i+1]; len(got) != 1 || !got[m] {
			t.Errorf("epoch %d ran in modes %v, want %v only", i+1, got, m)
		}
	}
	for _, e := range tn.Epochs() {
		if e.Observing != (e.Phase == PhaseQAT && e.Epoch <= 2) {
			t.Errorf("%s epoch %d: Observing %v", e.Phase, e.Epoch, e.Observing)
		}
	}
	// The observers learned the activation range in the observing epochs:
	// the layer's scale is no longer the unit placeholder.
	if scaleAfterObserving == 0 || scaleAfterObserving == 1 {
		t.Errorf("activation scale after the observing epochs is %v: the observers did not run", scaleAfterObserving)
	}
	// A quantized epoch measured the QAT accuracy: no extra evaluation.
	for _, e := range tn.Evaluations() {
		if e.Label == "qat" {
			t.Error("a QAT with quantized epochs was evaluated again")
		}
	}

	// Resume after the first observing epoch and at the switch.
	wantW, wantE, wantV := state(t, tn)
	for _, stopAfter := range []int{2, 3} {
		second, _, _ := resumedAfter(t, cfg, stopAfter)
		sameState(t, fmt.Sprintf("stop after %d", stopAfter), second, wantW, wantE, wantV)
	}
}

// TestQATThatOnlyObserves checks a QAT whose every epoch observes (as
// agn-approx's LeNet-5 protocol has it): its epoch measured float
// accuracy, so the quantized accuracy is measured after it, in Quantized
// mode, and is the run's QAT accuracy; with the same weights and ranges it
// equals an evaluation made by hand in Quantized mode.
func TestQATThatOnlyObserves(t *testing.T) {
	cfg := smallConfig()
	cfg.FloatEpochs, cfg.QATEpochs, cfg.QATObserveEpochs, cfg.ApproxEpochs = 0, 1, 2, 0
	cfg.LUT = ""
	tn := newSmall(t, cfg)
	res, err := tn.Run("")
	if err != nil {
		t.Fatal(err)
	}
	if ep := tn.Epochs(); len(ep) != 1 || !ep[0].Observing {
		t.Fatalf("epochs %+v, want one observing QAT epoch", ep)
	}
	var qat *Evaluation
	for _, e := range tn.Evaluations() {
		if e.Label == "qat" {
			qat = &e
		}
	}
	if qat == nil {
		t.Fatal("no quantized evaluation after a QAT that only observed")
	}
	if res.Accuracy.QAT == nil || *res.Accuracy.QAT != qat.Accuracy {
		t.Errorf("the run's QAT accuracy %v is not the quantized evaluation's %v", res.Accuracy.QAT, qat.Accuracy)
	}
	if err := tn.Layers().SetMode(ops.Quantized); err != nil {
		t.Fatal(err)
	}
	again, err := tn.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	if again.Accuracy != qat.Accuracy || again.Loss != qat.Loss {
		t.Errorf("evaluation in Quantized mode: loss %v acc %v; the run's: loss %v acc %v", again.Loss, again.Accuracy, qat.Loss, qat.Accuracy)
	}
	if err := tn.Layers().SetMode(ops.Float); err != nil {
		t.Fatal(err)
	}
	float, err := tn.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	if float.Loss != tn.Epochs()[0].TestLoss {
		t.Errorf("the observing epoch's test loss %v is not the float evaluation's %v", tn.Epochs()[0].TestLoss, float.Loss)
	}
}

func TestQATObserveEpochsErrors(t *testing.T) {
	cfg := smallConfig()
	cfg.QATObserveEpochs = -1
	if err := cfg.Validate(); err == nil {
		t.Error("negative observer-only epochs accepted")
	}
}

// TestQATThatOnlyObservesByHand: epoch by epoch, without Run, the last
// epoch of a QAT that only observed is followed by the quantized
// evaluation too.
func TestQATThatOnlyObservesByHand(t *testing.T) {
	cfg := smallConfig()
	cfg.FloatEpochs, cfg.QATEpochs, cfg.QATObserveEpochs, cfg.ApproxEpochs, cfg.LUT = 0, 1, 1, 0, ""
	tn := newSmall(t, cfg)
	if err := tn.SetPhase(PhaseQAT); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.TrainEpoch(); err != nil {
		t.Fatal(err)
	}
	ev := tn.Evaluations()
	if len(ev) != 1 || ev[0].Label != "qat" {
		t.Fatalf("evaluations %+v, want the quantized one", ev)
	}
	if q := tn.Result().Accuracy.QAT; q == nil || *q != ev[0].Accuracy {
		t.Errorf("QAT accuracy %v, want the quantized evaluation's %v", q, ev[0].Accuracy)
	}
}
