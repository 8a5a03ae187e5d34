package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/goapprox/goapprox/dataset"
	"github.com/goapprox/goapprox/zoo"
)

// runModels is `train models -dataset NAME [-json]`: every model of the zoo
// that accepts the data set's images, with its parameter count, its
// multiplications per image (the table lookups one image costs when every
// layer is approximate) and its number of approximate layers.
func runModels(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("train models", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("dataset", "mnist", "data set whose images the models must accept (a registered name or folder:DIR)")
	data := fs.String("data", "", "accepted as train accepts it, and not needed: a registered data set's image size is known without its files, and an image folder is read from folder:DIR")
	size := fs.Int("image-size", 0, "side of an image folder's resized images (0: the folder default)")
	asJSON := fs.Bool("json", false, "print a JSON array of {name, params, macs, approx_layers, doc}")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "train models: unexpected argument %q: options start with -\n", fs.Arg(0))
		return 2
	}
	if *data != "" && dataset.IsFolder(*name) {
		fmt.Fprintf(stderr, "train models: %v\n", errDataWithFolder)
		return 2
	}
	if *size < 0 {
		fmt.Fprintf(stderr, "train models: -image-size %d must not be negative\n", *size)
		return 2
	}
	if *size != 0 && !dataset.IsFolder(*name) {
		fmt.Fprintf(stderr, "train models: -image-size resizes an image folder's images (-dataset folder:DIR); %s has its own size\n", *name)
		return 2
	}
	info, err := dataset.Describe(*name, dataset.Options{Dir: *data, Size: *size})
	if err != nil {
		fmt.Fprintf(stderr, "train models: %v\n", err)
		return 2
	}
	rows, err := zoo.Summaries(zoo.InputOf(info))
	if err != nil {
		fmt.Fprintf(stderr, "train models: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []zoo.Summary{}
		}
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintf(stderr, "train models: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "Models for %s (%s):\n", info.Name, zoo.InputOf(info))
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "model\tparameters\tmultiplications/image\tapprox. layers\t")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t\n", r.Name, r.Params, r.MACs, r.ApproxLayers)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "train models: %v\n", err)
		return 1
	}
	if len(rows) == 0 {
		fmt.Fprintf(stdout, "No model of the zoo accepts %s images.\n", zoo.InputOf(info))
	}
	var left []string
	for _, m := range zoo.Models() {
		if err := m.Accepts(zoo.InputOf(info)); err != nil {
			left = append(left, "  "+strings.TrimPrefix(err.Error(), "zoo: "))
		}
	}
	if len(left) > 0 {
		fmt.Fprintf(stdout, "Not for these images:\n%s\n", strings.Join(left, "\n"))
	}
	return 0
}
