package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/lut/multiplier"
	"github.com/goapprox/goapprox/search"
	"github.com/goapprox/goapprox/sweep"
)

// sbatchScript and searchScript are the job scripts docs/cluster.md shows.
const (
	sbatchScript = "../../docs/cluster/sweep.sbatch"
	searchScript = "../../docs/cluster/search.sbatch"
)

// needSlurm skips the test unless a Slurm cluster takes jobs here.
func needSlurm(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("submits jobs to Slurm")
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("sbatch is not installed: no Slurm here (as root, .ci/slurm.sh up installs and starts a one-node cluster)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sinfo", "-h", "-o", "%t").CombinedOutput()
	if err != nil {
		t.Skipf("no Slurm cluster answers (sinfo: %v: %s); as root, .ci/slurm.sh up starts a one-node one", err, strings.TrimSpace(string(out)))
	}
	for _, state := range strings.Fields(string(out)) {
		switch strings.TrimRight(state, "*~#!%$@^-") {
		case "idle", "mix", "alloc", "comp":
			return
		}
	}
	t.Skipf("the Slurm cluster has no node that takes jobs (sinfo node states: %s)", strings.Join(strings.Fields(string(out)), " "))
}

// slurm runs a Slurm command and returns its output.
func slurm(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitJob waits until Slurm no longer lists the job (all its array tasks
// ended) and returns scontrol's account of its tasks.
func waitJob(t *testing.T, jid string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute) // a bound on a hung cluster, not a measurement
	for {
		out, err := exec.Command("squeue", "-h", "-j", jid, "-o", "%i").Output()
		if err == nil && strings.TrimSpace(string(out)) == "" {
			break
		}
		if time.Now().After(deadline) {
			show, _ := exec.Command("scontrol", "-o", "show", "job", jid).CombinedOutput()
			t.Fatalf("job %s still queued or running after 10 minutes:\n%s", jid, show)
		}
		time.Sleep(500 * time.Millisecond)
	}
	show, _ := exec.Command("scontrol", "-o", "show", "job", jid).CombinedOutput()
	return string(show)
}

// submit submits one of the docs' job scripts with sbatch options and
// script arguments, waits for it and checks that every array task
// completed.
func submit(t *testing.T, file, dir string, env []string, opts []string, scriptArgs ...string) string {
	t.Helper()
	script, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	args := append(append(append([]string{"--parsable"}, opts...), script), scriptArgs...)
	jid, _, _ := strings.Cut(slurm(t, dir, env, "sbatch", args...), ";")
	t.Cleanup(func() { exec.Command("scancel", jid).Run() })
	show := waitJob(t, jid)
	for _, line := range strings.Split(strings.TrimSpace(show), "\n") {
		// scontrol keeps ended jobs for MinJobAge; a task it still lists must have completed.
		if line != "" && (!strings.Contains(line, "JobState=COMPLETED") || !strings.Contains(line, "ExitCode=0:0")) {
			t.Errorf("job %s: a task did not complete: %s", jid, line)
		}
	}
	return jid
}

// TestClusterDocShowsTheJobScript: docs/cluster.md shows sweep.sbatch and
// search.sbatch as they are, so the scripts the Slurm tests run are the
// ones the reader copies.
func TestClusterDocShowsTheJobScript(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cluster.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{sbatchScript, searchScript} {
		script, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "```sh\n"+string(script)+"```\n") {
			t.Errorf("docs/cluster.md does not show %s as it is (a sh code block holding the whole file)", file)
		}
	}
}

// TestSlurmSweepJobArray submits docs/cluster/sweep.sbatch to a real Slurm
// cluster as a job array of two tasks over three multipliers (table files),
// waits for it, merges the two shard folders with train merge and compares
// with the same sweep run whole: everything but the seconds must be the
// same. Then it reruns one task alone, as the docs say to rerun a failed
// task, which (the script resumes) must find its shard complete and keep it.
func TestSlurmSweepJobArray(t *testing.T) {
	needSlurm(t)
	ck := tinyCheckpoint(t)
	bin := buildTrain(t)
	work := t.TempDir()
	luts := writeClusterTables(t, work)
	costs := filepath.Join(work, "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power,area\na-exact,0.39,700\nb-trunc8,0.2,300\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(work, "logs"), 0o755); err != nil { // Slurm does not create --output folders
		t.Fatal(err)
	}
	out := filepath.Join(work, "sweep")
	env := []string{"TRAIN=" + bin, "CHECKPOINT=" + ck, "LUTS=" + luts, "COSTS=" + costs, "RETRAIN_EPOCHS=1", "OUT=" + out}
	// The script's own --array, --cpus-per-task and --mem are for a real sweep; this one is small.
	small := []string{"--array=0-1", "--cpus-per-task=1", "--mem=1G", "--time=10"}

	jid := submit(t, sbatchScript, work, env, small)
	shards := []string{filepath.Join(out, "shard-000-of-002"), filepath.Join(out, "shard-001-of-002")}
	for i := range shards {
		log, err := os.ReadFile(filepath.Join(work, "logs", fmt.Sprintf("sweep-%s_%d.out", jid, i)))
		if err != nil || !strings.Contains(string(log), "wrote "+shards[i]) {
			t.Fatalf("array task %d: log %v:\n%s", i, err, log)
		}
	}
	merged := filepath.Join(work, "merged")
	slurm(t, work, nil, bin, append([]string{"merge", "-out", merged}, shards...)...)
	whole := filepath.Join(work, "whole")
	slurm(t, work, nil, bin, "sweep", "-checkpoint", ck, "-luts", luts, "-costs", costs, "-retrain-epochs", "1",
		"-threads", "1", "-quiet", "-out", whole)

	w, wcsv := readSweep(t, whole)
	m, mcsv := readSweep(t, merged)
	if !reflect.DeepEqual(w, m) || wcsv != mcsv {
		t.Fatalf("the job array's merged sweep differs from the whole one:\n%+v\n%+v\n%s\n%s", m, w, mcsv, wcsv)
	}
	if len(w.Rows) != 3 || w.Rows[0].Name != "a-exact" || w.Rows[0].MAE != 0 || w.Rows[0].AccuracyBefore != w.AccuracyExact ||
		w.Rows[1].Power == nil || *w.Rows[1].Power != 0.2 || w.Rows[2].Power != nil {
		t.Errorf("rows: %+v", w.Rows)
	}

	// A failed task is rerun alone by its shard (an array of one task would
	// otherwise be a sweep of one shard); the script's -resume keeps what
	// the shard saved.
	before, err := sweep.ReadResult(shards[1])
	if err != nil {
		t.Fatal(err)
	}
	jid = submit(t, sbatchScript, work, env, []string{"--array=1", "--cpus-per-task=1", "--mem=1G", "--time=10"}, "-shard", "1/2")
	log, err := os.ReadFile(filepath.Join(work, "logs", fmt.Sprintf("sweep-%s_1.out", jid)))
	if err != nil || !strings.Contains(string(log), "1 of its 1 multipliers were measured before") {
		t.Fatalf("rerun of task 1: %v\n%s", err, log)
	}
	if after, err := sweep.ReadResult(shards[1]); err != nil || !reflect.DeepEqual(before, after) {
		t.Errorf("the resumed complete shard changed (%v):\n%+v\n%+v", err, before, after)
	}
}

// writeClusterTables writes the three multiplier tables of the Slurm tests
// into DIR/luts and returns that folder.
func writeClusterTables(t *testing.T, dir string) string {
	t.Helper()
	luts := filepath.Join(dir, "luts")
	if err := os.Mkdir(luts, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ file, spec string }{
		{"a-exact.npy", "exact:signed=true"}, {"b-trunc8.npy", "trunc:t=8,signed=true"}, {"c-mitchell.npy", "mitchell:signed=true"},
	} {
		tab, err := multiplier.Parse(f.spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := lut.WriteFile(filepath.Join(luts, f.file), tab); err != nil {
			t.Fatal(err)
		}
	}
	return luts
}

// TestSlurmSearchJobArray submits docs/cluster/search.sbatch to a real
// Slurm cluster as the docs say: a job array of two tasks, each searching
// its share of the default lambda grid, then the same script as an array of
// one task, which (without a shard, with the script's -resume) reuses the
// shards' lambdas and writes the report. That report must be the one the
// search run whole on this machine writes.
func TestSlurmSearchJobArray(t *testing.T) {
	needSlurm(t)
	ck := tinyCheckpoint(t)
	bin := buildTrain(t)
	work := t.TempDir()
	luts := writeClusterTables(t, work)
	costs := filepath.Join(work, "costs.csv")
	if err := os.WriteFile(costs, []byte("name,power\na-exact,0.39\nb-trunc8,0.2\nc-mitchell,0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(work, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "search")
	env := []string{"TRAIN=" + bin, "CHECKPOINT=" + ck, "LUTS=" + luts, "COSTS=" + costs, "BUDGET=100", "OUT=" + out}
	small := []string{"--cpus-per-task=1", "--mem=1G", "--time=10"}

	jid := submit(t, searchScript, work, env, append([]string{"--array=0-1"}, small...))
	for i, n := range []int{2, 1} { // the grid 0.005, 0.05, 0.5 dealt to two shards
		log, err := os.ReadFile(filepath.Join(work, "logs", fmt.Sprintf("search-%s_%d.out", jid, i)))
		if err != nil || !strings.Contains(string(log), fmt.Sprintf("shard %d/2 done: %d lambdas saved", i, n)) {
			t.Fatalf("array task %d: log %v:\n%s", i, err, log)
		}
	}
	jid = submit(t, searchScript, work, env, append([]string{"--array=0"}, small...))
	log, err := os.ReadFile(filepath.Join(work, "logs", fmt.Sprintf("search-%s_0.out", jid)))
	if err != nil || !strings.Contains(string(log), "wrote "+out) {
		t.Fatalf("final task: log %v:\n%s", err, log)
	}
	whole := filepath.Join(work, "whole")
	slurm(t, work, nil, bin, "search", "-checkpoint", ck, "-luts", luts, "-costs", costs, "-budget", "100",
		"-search-epochs", "1", "-retrain-epochs", "1", "-threads", "2", "-quiet", "-out", whole)
	a, err := os.ReadFile(filepath.Join(whole, search.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, search.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("the job array's search.json differs from the whole search's:\n%s\n%s", b, a)
	}
}
