package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/internal/boundedfile"
	"github.com/goapprox/goapprox/sweep"
	"github.com/goapprox/goapprox/train"
)

// Every lambda a search takes end to end is saved on its own, as soon as it
// is done, in RUN/lambdas/lambda-L.json: a search that stops keeps what it
// finished (-resume picks it up), the shards of a search each save theirs in
// RUN/shard-00i-of-00n/lambdas, and another budget can reuse them (-reuse RUN).
// A saved lambda is only reused by a search with the same key: each lambda
// starts from the checkpoint and is deterministic for its settings, so the
// result does not depend on which run computed it or in what order.

// lambdasDir is the folder, inside a search's run folder, of its saved lambdas.
const lambdasDir = "lambdas"

// maxLambdaFile bounds the size of one saved lambda.
const maxLambdaFile = 64 << 20

// lambdaKey is everything that decides what one lambda gives, except the
// lambda itself.
// The flag tags name what a user changes to change a field, for the
// message that refuses a lambda saved with another key.
type lambdaKey struct {
	CheckpointSHA256 string `json:"checkpoint_sha256" flag:"-checkpoint (its contents)"`
	// Multipliers are the candidate tables as name@fingerprint, in order.
	Multipliers   []string `json:"multipliers" flag:"multiplier list (-lut, -luts)"`
	CostsSHA256   string   `json:"costs_sha256,omitempty" flag:"-costs (its contents)"`
	SigmaInitial  float64  `json:"sigma_initial" flag:"-sigma-init"`
	SigmaMax      float64  `json:"sigma_max" flag:"-sigma-max"`
	SearchEpochs  int      `json:"search_epochs" flag:"-search-epochs"`
	SearchLR      float64  `json:"search_lr" flag:"-search-lr"`
	RetrainEpochs int      `json:"retrain_epochs" flag:"-retrain-epochs"`
	RetrainLR     float64  `json:"retrain_lr" flag:"-retrain-lr"`
	Gradient      string   `json:"gradient,omitempty" flag:"-grad"`
	Limit         int      `json:"limit,omitempty" flag:"-limit"`
	DataDir       string   `json:"data_dir,omitempty" flag:"-data"`
}

// savedLambda is the file of one lambda.
type savedLambda struct {
	Key     lambdaKey           `json:"key"`
	Lambda  float64             `json:"lambda"`
	Outcome train.SearchOutcome `json:"outcome"`
}

func lambdaFile(dir string, lambda float64) string {
	return filepath.Join(dir, lambdasDir, "lambda-"+strconv.FormatFloat(lambda, 'g', -1, 64)+".json")
}

// saveLambda writes one lambda's outcome into dir's lambdas folder.
func saveLambda(dir string, key lambdaKey, lambda float64, out train.SearchOutcome) error {
	data, err := json.MarshalIndent(savedLambda{Key: key, Lambda: lambda, Outcome: out}, "", " ")
	if err != nil {
		return fmt.Errorf("saving lambda %g: %w", lambda, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, lambdasDir), 0o755); err != nil {
		return fmt.Errorf("saving lambda %g: %w", lambda, err)
	}
	return atomicfile.WriteFile(lambdaFile(dir, lambda), append(data, '\n'))
}

// savedLambdaFiles lists the saved lambdas of the search in dir: its own
// and its shards'.
func savedLambdaFiles(dir string) ([]string, error) {
	own, err := filepath.Glob(filepath.Join(dir, lambdasDir, "lambda-*.json"))
	if err != nil {
		return nil, err
	}
	shards, err := filepath.Glob(filepath.Join(dir, "shard-*-of-*", lambdasDir, "lambda-*.json"))
	if err != nil {
		return nil, err
	}
	files := append(own, shards...)
	sort.Strings(files)
	return files, nil
}

// loadLambdas reads every saved lambda of the searches in dirs. A file made
// with another key is an error that names what differs: reusing it would
// mix two experiments.
func loadLambdas(dirs []string, key lambdaKey) (map[float64]train.SearchOutcome, error) {
	found := map[float64]train.SearchOutcome{}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("reusing the search in %s: %w", dir, err)
		}
		files, err := savedLambdaFiles(dir)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			s, err := readSavedLambda(f)
			if err != nil {
				return nil, err
			}
			s.Key.DataDir = sweep.AbsDataDir(s.Key.DataDir)
			if diff := keyDifference(s.Key, key); diff != "" {
				return nil, fmt.Errorf("%s was searched with %s; reuse only searches of the same checkpoint, multipliers and settings: give the same flags, or delete that file (a shard's: its shard folder) to search its lambda again with these, or choose another -out", f, diff)
			}
			if _, ok := found[s.Lambda]; ok {
				// Two copies of one lambda (a shard's and the final run's)
				// are the same computation; keep the first.
				continue
			}
			found[s.Lambda] = s.Outcome
		}
	}
	return found, nil
}

func readSavedLambda(path string) (savedLambda, error) {
	var s savedLambda
	if err := boundedfile.ReadJSON(path, maxLambdaFile, "a saved lambda of train search", &s); err != nil {
		return s, fmt.Errorf("%w; remove it to search that lambda again", err)
	}
	if want := lambdaFile(filepath.Dir(filepath.Dir(path)), s.Lambda); filepath.Base(want) != filepath.Base(path) {
		return s, fmt.Errorf("%s holds lambda %g, not the lambda of its name; remove it to search that lambda again", path, s.Lambda)
	}
	return s, nil
}

// keyDifference says in which setting the saved key differs from this
// search's, by its flag and with both values where they are short ("" when
// the keys are the same).
func keyDifference(saved, now lambdaKey) string {
	vs, vn := reflect.ValueOf(saved), reflect.ValueOf(now)
	t := vs.Type()
	for i := range t.NumField() {
		a, b := vs.Field(i).Interface(), vn.Field(i).Interface()
		if reflect.DeepEqual(a, b) {
			continue
		}
		flag := t.Field(i).Tag.Get("flag")
		switch t.Field(i).Type.Kind() {
		case reflect.String:
			if strings.HasSuffix(t.Field(i).Name, "SHA256") {
				return fmt.Sprintf("another %s than this search", flag)
			}
			return fmt.Sprintf("%s %q, this search with %q", flag, a, b)
		case reflect.Slice:
			return fmt.Sprintf("another %s than this search (%d entries then, %d now)", flag, vs.Field(i).Len(), vn.Field(i).Len())
		}
		return fmt.Sprintf("%s %v, this search with %v", flag, a, b)
	}
	return ""
}
