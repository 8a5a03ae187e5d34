package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/goapprox/goapprox/lut/metrics"
)

func runStats(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("stats", "[-json] [-signed] SPEC|FILE...",
		"Prints the error metrics of each table against the exact product of the same signedness,\n"+
			"over all 65,536 operand pairs, one row per table in the order given. e = approx - exact:\n"+
			"MAE mean|e|, WCE max|e|, EP fraction with e != 0, MRE and WCRE mean and max |e|/|exact|\n"+
			"(exact != 0), MSE mean e^2, BIAS mean e, STD its standard deviation, NMED MAE/max|exact|.\n"+
			"EP, MRE, WCRE and NMED are fractions, not percentages.", stderr)
	asJSON := fs.Bool("json", false, "print a JSON array of objects (name, fingerprint, signed_x, signed_w, weighted, mae, wce, ep, mre, wcre, mse, bias, var, std, nmae, nwce, nmed)")
	signed := fs.Bool("signed", false, "read table files with signed operands (specs say signed=true themselves)")
	pos, err := parse(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "lut stats: needs at least one SPEC or FILE, e.g. lut stats mitchell trunc:t=4 mul8u_1JFF.bin")
		return errUsage
	}
	// A table that does not load is reported after the others' rows: one
	// bad path among many keeps the rest of the work.
	all := make([]metrics.Metrics, 0, len(pos))
	var bad []error
	for _, arg := range pos {
		t, err := load(arg, *signed, stderr)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		all = append(all, metrics.Compute(t))
	}
	if len(all) == 0 {
		// No header over no rows: the errors are all there is to say.
		if len(bad) == 1 {
			return bad[0]
		}
		return fmt.Errorf("none of the %d tables could be read:\n%w", len(pos), errors.Join(bad...))
	}
	if err := printStats(stdout, all, *asJSON); err != nil {
		return err
	}
	if len(bad) > 0 {
		verb := "were"
		if len(bad) == 1 {
			verb = "was"
		}
		return fmt.Errorf("%d of the %d tables %s left out:\n%w", len(bad), len(pos), verb, errors.Join(bad...))
	}
	return nil
}

// printStats prints the metrics as a table or, with asJSON, a JSON array.
func printStats(stdout io.Writer, all []metrics.Metrics, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "NAME\tMAE\tWCE\tEP\tMRE\tWCRE\tMSE\tBIAS\tSTD\tNMED\tFINGERPRINT\t")
	for _, m := range all {
		fmt.Fprintf(tw, "%s\t%.6g\t%.0f\t%.4f\t%.4g\t%.4g\t%.6g\t%.6g\t%.6g\t%.4g\t%s\t\n",
			m.Name, m.MAE, m.WCE, m.EP, m.MRE, m.WCRE, m.MSE, m.Bias, m.Std, m.NMED, m.Fingerprint[:12])
	}
	return tw.Flush()
}
