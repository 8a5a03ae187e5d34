package train

// EpochMetrics are the results of one training epoch.
type EpochMetrics struct {
	Phase Phase `json:"phase"`
	Epoch int   `json:"epoch"` // 1-based within the phase
	Index int   `json:"index"` // 1-based within the run
	Steps int   `json:"steps"`
	// Observing marks a QAT epoch with float products and the observers
	// watching (Config.QATObserveEpochs): its accuracies are float ones.
	Observing bool `json:"observing,omitempty"`
	// LR is the learning rate of the epoch's first step.
	LR            float64 `json:"lr"`
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	TestLoss      float64 `json:"test_loss"`
	TestAccuracy  float64 `json:"test_accuracy"`
	TestTop5      float64 `json:"test_top5,omitempty"`
	// Seconds is the training time of the epoch, EvalSeconds that of its
	// test-set evaluation.
	Seconds     float64 `json:"seconds"`
	EvalSeconds float64 `json:"eval_seconds"`
}

// TopFiveClasses is the number of classes from which evaluations also
// measure top-5 accuracy (as the field reports it for CIFAR-100 and Tiny
// ImageNet).
const TopFiveClasses = 100

// Evaluation is one pass over the full test set.
type Evaluation struct {
	// Label says which evaluation this is: "qat" (Quantized mode, after
	// calibration when there were no QAT epochs, or after QAT epochs that
	// only observed), "approx_before" (before
	// approximate fine-tuning) or "epoch".
	Label    string  `json:"label"`
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	Correct  int     `json:"correct"`
	// Top5 is the fraction of samples whose label is among the five
	// highest logits, and Top5Correct their number; measured for data
	// sets of TopFiveClasses classes or more.
	Top5        float64 `json:"top5,omitempty"`
	Top5Correct int     `json:"top5_correct,omitempty"`
	Samples     int     `json:"samples"`
	Seconds     float64 `json:"seconds"`
}
