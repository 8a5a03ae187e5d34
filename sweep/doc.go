// Package sweep compares approximate multipliers on one trained network: the
// questions a hardware designer brings (which multiplier can this network
// afford, in which layer, and what does retraining buy back), answered with
// tables and plots.
//
//   - Run evaluates a trained checkpoint with every multiplier of a list in
//     Approximate mode, optionally retrains it for a few epochs and evaluates
//     again: one Row per multiplier with the table's error metrics, its cost
//     metadata (Costs, read from a name,power,area CSV) and the accuracies.
//   - MeasureSensitivity approximates one layer at a time and measures the accuracy
//     drop of each, next to the layer's share of the multiplications and the
//     error model's predicted noise (package errmodel).
//   - Assign chooses a multiplier per layer, the cheapest combination within
//     an accuracy budget, from per-layer sensitivity measurements (see
//     assign.go for the algorithm), and estimates the energy saved.
//   - Shard (ParseShard, ShardFromEnv for Slurm arrays and Kubernetes
//     Indexed Jobs) and Merge scale a sweep out: a shard runs a deterministic
//     slice of the list and writes its own folder; Merge combines the folders
//     into the result an unsharded run writes.
//   - Record, WriteRecord and Resume let an interrupted sweep or shard
//     continue from the rows it saved: the folder records the settings the
//     run started with (RecordFile), and Resume refuses, naming what
//     differs, a run with other ones; Run keeps the saved rows
//     (Options.Resumed) once their tables and the exact accuracy are found
//     unchanged.
//
// OpenModel rebuilds a checkpoint's model once; every measurement restores
// the trained state first, so results do not depend on what was measured
// before (which is what makes shards and a whole run agree).
//
// Every file is written atomically (internal/atomicfile). Results are
// deterministic given the checkpoint and the list, except the measured
// seconds per row.
package sweep
