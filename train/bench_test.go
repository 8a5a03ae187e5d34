package train

import (
	"errors"
	"testing"

	"github.com/goapprox/goapprox/dataset"
)

// BenchmarkTrainStep measures one training step (forward, backward, Adam
// update) of a batch of 64 MNIST images, per model and phase:
//
//	go test -run '^$' -bench TrainStep -benchtime 20x ./train
func BenchmarkTrainStep(b *testing.B) {
	trainSet, err := dataset.Load("mnist", dataset.Train, dataset.Options{})
	if errors.Is(err, dataset.ErrNotFound) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	trainSet = trainSet.Limit(64)
	if err := trainSet.NormalizeDefault(); err != nil {
		b.Fatal(err)
	}
	for _, model := range []string{"mlp", "lenet5", "resnet8-1x1", "mobilenetv2-small", "vgg"} {
		for _, phase := range Phases() {
			b.Run(model+"/"+string(phase), func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.Model, cfg.LUT = model, "trunc:t=9,signed=true"
				tn, err := New(cfg, WithData(trainSet, trainSet))
				if err != nil {
					b.Fatal(err)
				}
				defer tn.Close()
				if err := tn.SetPhase(phase); err != nil {
					b.Fatal(err)
				}
				tn.setTraining(true)
				tn.iter.Start(0)
				tn.iter.Next()
				batch := tn.iter.Batch()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, _, err := tn.step(batch, 1e-4); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
