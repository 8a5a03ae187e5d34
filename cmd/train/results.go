package main

import (
	"fmt"
	"strings"

	"github.com/goapprox/goapprox/compare"
	"github.com/goapprox/goapprox/search"
	"github.com/goapprox/goapprox/sweep"
)

// resultNames are the files and folders the commands of train write into
// their -out folders.
var resultNames = []string{
	"report.json", "metrics.csv", "checkpoints",
	sweep.RecordFile, sweep.JSONFile, sweep.CSVFile, sweep.MDFile,
	sweep.SensitivityJSON, sweep.SensitivityCSV, sweep.SensitivityPlot,
	sweep.AssignmentJSON, sweep.SummaryFile,
	search.ReportJSON, search.ReportCSV, search.ReportMD, lambdasDir,
	compare.MDFile, compare.CSVFile, compare.PlotFile,
}

// refuseResults refuses an -out folder that already holds results of a
// train command: sensitivity, assign and compare have no -resume, and
// writing there would replace (or contradict) what a user made.
func refuseResults(dir string) error {
	if have := existing(dir, resultNames...); len(have) > 0 {
		return fmt.Errorf("%s already holds results (%s): choose another -out, or delete them first", dir, strings.Join(have, ", "))
	}
	return nil
}
