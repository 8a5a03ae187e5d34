package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/goapprox/goapprox/compare"
	"github.com/goapprox/goapprox/search"
	"github.com/goapprox/goapprox/sweep"
)

// resultNames are the files and folders the commands of train write into
// their -out folders.
var resultNames = []string{
	reportFile, metricsFile, plotFile, checkpointsDir,
	sweep.RecordFile, sweep.JSONFile, sweep.CSVFile, sweep.MDFile,
	sweep.SensitivityJSON, sweep.SensitivityCSV, sweep.SensitivityPlot,
	sweep.AssignmentJSON, sweep.SummaryFile,
	search.ReportJSON, search.ReportCSV, search.ReportMD, lambdasDir,
	compare.MDFile, compare.CSVFile, compare.PlotFile,
}

// refuseResults refuses an -out folder that holds results of another
// train command (any file of resultNames but own, the command's own
// files, which a new run replaces): sensitivity, assign and compare have
// no -resume, and writing there would replace or contradict what another
// command made.
func refuseResults(dir string, own ...string) error {
	var other []string
	for _, name := range existing(dir, resultNames...) {
		if !slices.Contains(own, name) {
			other = append(other, name)
		}
	}
	if len(other) > 0 {
		return fmt.Errorf("%s already holds other results (%s): choose another -out, or delete them first", dir, strings.Join(other, ", "))
	}
	return nil
}

// sensitivityFiles are what train sensitivity writes (and train assign
// besides its assignment).
var sensitivityFiles = []string{sweep.SensitivityJSON, sweep.SensitivityCSV, sweep.SensitivityPlot}
