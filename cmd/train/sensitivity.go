package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/goapprox/goapprox/sweep"
)

const sensitivityAbout = `Approximates one layer at a time with each multiplier (the other layers keep
exact products) and measures the accuracy drop, next to each layer's share of
the multiplications and the error model's predicted noise for the layer
(errmodel, Global model: predicted output-error std relative to the layer's
output std). Writes sensitivity.csv, sensitivity.json and sensitivity.png.`

func runSensitivity(args []string, stdout, stderr io.Writer) int {
	var mf modelFlags
	fs := subFlags("sensitivity", "-checkpoint FILE -lut SPEC|FILE... -out DIR", sensitivityAbout, stderr)
	mf.register(fs)
	if err := fs.Parse(args); err != nil {
		return exit("sensitivity", err, stderr, true)
	}
	var unused []string
	for name, set := range map[string]bool{"-retrain-epochs": mf.retrain != 0, "-retrain-lr": mf.retrainLR != 0,
		"-grad": mf.grad != "", "-limit": mf.limit != 0, "-costs": mf.costs != ""} {
		if set {
			unused = append(unused, name)
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		return exit("sensitivity", fmt.Errorf("%s: sensitivity measures the trained model as it is, without retraining or costs (train assign uses both)", strings.Join(unused, ", ")), stderr, true)
	}
	list, _, err := mf.check(fs)
	if err != nil {
		return exit("sensitivity", err, stderr, true)
	}
	lock, err := claimOutput(mf.out, stderr)
	if err != nil {
		return exit("sensitivity", err, stderr, false)
	}
	defer lock.Release()
	if err := refuseResults(mf.out, sensitivityFiles...); err != nil {
		return exit("sensitivity", err, stderr, false)
	}
	m, err := mf.open(list[0])
	if err != nil {
		return exit("sensitivity", err, stderr, false)
	}
	defer m.Close()
	res, err := sweep.MeasureSensitivity(m, list, func(s string) { fmt.Fprintln(stdout, s) })
	if err == nil {
		err = sweep.WriteSensitivity(mf.out, res)
	}
	if err != nil {
		return exit("sensitivity", err, stderr, false)
	}
	fmt.Fprintf(stdout, "\nexact products: %.2f%%\nwrote %s (%s, %s, %s)\n", 100*res.AccuracyExact, mf.out,
		sweep.SensitivityCSV, sweep.SensitivityJSON, sweep.SensitivityPlot)
	return 0
}
