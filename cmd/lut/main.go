package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/multiplier"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `lut inspects and converts 8-bit multiplier product tables.

Usage:
  lut list                                    list the built-in designs and their parameters
  lut stats [-json] [-signed] SPEC|FILE...    error metrics against the exact product
  lut gen [-signed] -o FILE SPEC|FILE         write a built-in design, or convert a table file, as .npy, .bin or .csv
  lut heatmap [-signed] [-grad x|w [-window H]] -o OUT.png SPEC|FILE
                                              draw the error map approx - exact, or a slope map
  lut grad [-signed] [-window H] -o OUT.npy SPEC|FILE
                                              write the slopes along x and w as float32 (2, 256, 256)
  lut doc [-o FILE.md] [-img DIR]             write docs/multipliers.md: metrics and error maps of the built-ins

A SPEC names a built-in, e.g. mitchell, trunc:t=4, drum:k=4,signed=true.
A FILE is a table file recognised by its extension: .npy, .bin or .csv.
Run "lut COMMAND -h" for a command's options.
`

// errUsage marks errors whose message already went out with the usage text.
var errUsage = errors.New("usage")

// run is the whole command, minus the process: tests call it in-process.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "list":
		err = runList(rest, stdout, stderr)
	case "stats":
		err = runStats(rest, stdout, stderr)
	case "gen":
		err = runGen(rest, stdout, stderr)
	case "heatmap":
		err = runHeatmap(rest, stdout, stderr)
	case "grad":
		err = runGrad(rest, stdout, stderr)
	case "doc":
		err = runDoc(rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "lut: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		// The lut package prefixes its errors with "lut: ", which the
		// command's own prefix already says.
		msg := strings.TrimPrefix(err.Error(), "lut: ")
		msg = strings.NewReplacer(": lut: ", ": ", "\nlut: ", "\n").Replace(msg)
		fmt.Fprintf(stderr, "lut %s: %s\n", args[0], msg)
		return 1
	}
}

// newFlags returns a flag set for a command whose usage goes to stderr
// (parse prints it on stdout for -h, and only a pointer to -h after a bad
// flag, whose error the whole usage would scroll away).
func newFlags(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: lut %s %s\n\n%s\n", name, synopsis, about)
		if hasFlags(fs) {
			fmt.Fprintln(fs.Output(), "\nOptions:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse parses flags that may come before, between or after the positional
// arguments ("lut stats mitchell -json" works), and returns the positionals.
// -h prints the usage on stdout; a bad flag prints its error and a pointer
// to -h on the flag set's output.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	stderr := fs.Output()
	help := func() ([]string, error) {
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(stderr)
		return nil, flag.ErrHelp
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			return help()
		}
	}
	// The flag package prints the whole usage after an error; this prints
	// the error alone.
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) { // -h=true, --h
				return help()
			}
			fmt.Fprintf(stderr, "%v\nRun \"lut %s -h\" for its options.\n", err, fs.Name())
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// load returns the table an argument names: a table file by its extension,
// otherwise a multiplier spec. signed says how to read a file's operands.
// A file whose products mostly have the wrong sign for that reading gets a
// warning on stderr, not an error: its metrics are then those of another
// multiplier, but the user may mean to look at exactly that.
func load(arg string, signed bool, stderr io.Writer) (*lut.Table, error) {
	if lut.IsTableFile(arg) {
		t, err := lut.Load(arg, lut.Both(lut.SignednessOf(signed)))
		if err != nil {
			return nil, err
		}
		if err := lut.CheckSigns(t); err != nil {
			hint := "it looks like a table of unsigned operands: run without -signed"
			if !signed {
				hint = "it looks like a table of signed operands: add -signed"
			}
			fmt.Fprintf(stderr, "warning: %s: %v; %s\n", arg, err, hint)
		}
		return t, nil
	}
	t, err := multiplier.Parse(arg)
	if err != nil {
		if _, statErr := os.Stat(arg); statErr == nil || strings.ContainsAny(arg, `/\.`) {
			return nil, fmt.Errorf("%q is neither a table file (.npy, .bin, .csv) nor a multiplier spec: %v", arg, err)
		}
		return nil, err
	}
	if signed && !t.SignedX() {
		fmt.Fprintf(stderr, "warning: -signed reads table files; the spec %s is unsigned (add signed=true to the spec for its signed version)\n", arg)
	}
	return t, nil
}

// notTheInput refuses an output path that names the input file: the
// output would replace what it was computed from.
func notTheInput(out, in string) error {
	a, errA := os.Stat(out)
	b, errB := os.Stat(in)
	if errA == nil && errB == nil && os.SameFile(a, b) {
		return fmt.Errorf("-o %s is the input file: write to another file", out)
	}
	return nil
}

func runList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("list", "", "Lists the built-in multiplier designs, their parameters and source papers.\n"+
		"Every design also takes signed=true: sign(a)sign(b)M(|a|,|b|) on operands -128..127.", stderr)
	pos, err := parse(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "lut list: takes no arguments, got %q\n", pos)
		return errUsage
	}
	fmt.Fprintln(stdout, "Every design also takes signed=true: sign(a)sign(b)M(|a|,|b|) on operands -128..127, e.g. drum:k=4,signed=true.")
	for _, d := range multiplier.List() {
		fmt.Fprintf(stdout, "%s\n    %s\n", d.Usage(), d.Summary)
		for _, p := range d.Params {
			fmt.Fprintf(stdout, "    %s: %s (%d..%d)\n", p.Key, p.Doc, p.Min, p.Max)
		}
		if d.Source != "" {
			fmt.Fprintf(stdout, "    source: %s\n", d.Source)
		}
	}
	return nil
}

func runGen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen", "[-signed] -o FILE SPEC|FILE", "Writes the table of a built-in design, or of a table file (to convert it), to FILE, in the\n"+
		"format of its extension: .npy (int32, shape (256, 256), indexed [x][w]), .bin (TFApprox: 65,536\n"+
		"little-endian 16-bit entries) or .csv (256 lines of 256 integers). The file is written atomically.", stderr)
	out := fs.String("o", "", "output `file` (.npy, .bin or .csv); required")
	signed := fs.Bool("signed", false, "read a table file with signed operands (specs say signed=true themselves)")
	pos, err := parse(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		fmt.Fprintln(stderr, "lut gen: needs exactly one SPEC or FILE and -o FILE, e.g. lut gen -o drum4.npy drum:k=4")
		return errUsage
	}
	if err := notTheInput(*out, pos[0]); err != nil {
		return err
	}
	t, err := load(pos[0], *signed, stderr)
	if err != nil {
		return err
	}
	if err := lut.WriteFile(*out, t); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, fingerprint %s)\n", *out, t.Name(), t.Fingerprint())
	return nil
}
