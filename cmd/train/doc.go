// Command train trains a model of the GoApprox zoo with quantization-aware
// training, then evaluates it with an approximate multiplier, fine-tunes it
// with that multiplier and evaluates it again.
//
//	go run ./cmd/train                    # LeNet-5 on MNIST, quick defaults
//	go run ./cmd/train -limit 0 -qat-epochs 6 -schedule cosine -approx-epochs 2 -approx-lr 1e-4
//	go run ./cmd/train -model resnet8-1x1 -dataset fashion-mnist -limit 0 -qat-epochs 10 -lut none
//	go run ./cmd/train -quant unsigned -lut ../shared/luts/evoapprox-mul8u/mul8u_L40.bin
//	go run ./cmd/train -layer-lut conv2=drum:k=3,signed=true -lut none
//
// With no flags it uses the first 30,000 MNIST training images, two QAT
// epochs and one approximate epoch with the built-in trunc:t=9,signed=true,
// which takes under a minute on two cores; the test set is
// always used in full.
//
// The run folder (-out, default runs/MODEL-DATASET-TIME, with -2, -3, ...
// added when that exists) receives
// report.json (configuration, per-epoch metrics, timings, the multipliers'
// error metrics and "accuracy": {"qat", "approx_before", "approx_after"} as
// fractions of the test set, with "top5" beside them for data sets of 100
// classes or more), metrics.csv (one row per epoch; a test_top5 column for
// such sets), training.png
// (loss and accuracy over the phases) and checkpoints/ (last.ckpt after
// every epoch, qat.ckpt and approx.ckpt at the end of each phase), all
// written atomically. -resume -out DIR continues a run from last.ckpt and
// ends exactly where an uninterrupted run would. The run holds the folder
// for itself (a .lock file, flock(2)): a second run into it is refused.
//
// Subcommands measure a trained checkpoint instead: sweep (every
// multiplier everywhere), merge, sensitivity, assign (a greedy per-layer
// choice), search (the gradient search: learned per-layer noise tolerance,
// multipliers matched to it, approximate retraining), compare (the three
// side by side after retraining, per accuracy budget) and models; run
// train SUBCOMMAND -h for each one's flags.
//
// Progress bars show each epoch's rate, ETA, running loss and accuracy when
// stdout is a terminal; otherwise one line per epoch is printed.
package main
