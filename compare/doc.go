// Package compare puts side by side the three ways GoApprox gives the
// layers of one trained model approximate multipliers: one multiplier
// everywhere (train sweep with retraining), the greedy per-layer
// assignment (train assign) and agn-approx's gradient search (train
// search). Every assignment is a point of multiplication energy saved
// against accuracy after retraining; Best picks each method's largest
// saving within an accuracy budget, Table lists those choices, and Plot
// draws every point with the exact accuracy and the budgets.
//
// Load reads the runs' folders and refuses runs of different models (the
// exact accuracy, which one checkpoint always measures alike, must agree).
package compare
