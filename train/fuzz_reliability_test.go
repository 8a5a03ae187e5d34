package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/goapprox/goapprox/dataset"
)

// FuzzDecodeCheckpoint feeds arbitrary bytes to the checkpoint reader: it
// must refuse them with an error or decode a checkpoint that writes back to
// the same content, never panic. The committed corpus in
// testdata/fuzz/FuzzDecodeCheckpoint holds a valid file and damaged ones.
func FuzzDecodeCheckpoint(f *testing.F) {
	valid := []byte(checkpointMagic + " 1\nsha256 " + digestOf("{}") + "\n{}\n")
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add([]byte(checkpointMagic + " 2\nsha256 00\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCheckpoint(bytes.NewReader(data))
		if err != nil {
			if c != nil {
				t.Fatal("a checkpoint and an error")
			}
			return
		}
		var buf bytes.Buffer
		if err := c.Write(&buf); err != nil {
			t.Fatalf("a decoded checkpoint does not encode: %v", err)
		}
		again, err := DecodeCheckpoint(&buf)
		if err != nil {
			t.Fatalf("a checkpoint written back does not decode: %v", err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("written back differently:\n%+v\n%+v", c, again)
		}
	})
}

func digestOf(payload string) string {
	sum := sha256.Sum256([]byte(payload))
	return hex.EncodeToString(sum[:])
}

// withDigest puts a valid header and digest in front of a payload.
func withDigest(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	head := fmt.Sprintf("%s %d\nsha256 %s\n", checkpointMagic, checkpointVersion, hex.EncodeToString(sum[:]))
	return append([]byte(head), payload...)
}

// digitsTrainer is an MLP on the first 64 digits with one QAT epoch, a
// model small enough to restore thousands of times a minute.
func digitsTrainer(tb testing.TB) *Trainer {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Model, cfg.Dataset, cfg.Batch, cfg.Limit = "mlp", "digits", 32, 64
	cfg.QATEpochs, cfg.ApproxEpochs, cfg.LUT = 1, 1, "trunc:t=8,signed=true"
	cfg.Threads = 1
	tn, err := New(cfg)
	if errors.Is(err, dataset.ErrNotFound) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tn.Close)
	return tn
}

// FuzzRestorePayload fuzzes what a checkpoint says behind a valid digest,
// which random bytes would almost never reach, and restores it into a
// trainer. Restore must refuse it with an error that leaves the trainer
// exactly as it was, or accept a state a run can continue from. The model
// part (an approxlayer checkpoint, fuzzed in package approxlayer) is
// spliced in when the payload leaves it empty, so the fuzzer spends its
// time on configuration, progress, batch norms and optimizer state.
func FuzzRestorePayload(f *testing.F) {
	tn := digitsTrainer(f)
	if err := tn.SetPhase(PhaseQAT); err != nil {
		f.Fatal(err)
	}
	ck, err := tn.Checkpoint()
	if err != nil {
		f.Fatal(err)
	}
	model := ck.Model
	ck.Model = nil
	// Moments of the smallest parameter only: a seed of reasonable size.
	ck.Optimizer.Steps = 3
	for _, p := range tn.params {
		if strings.HasSuffix(p.Name(), ".bias") {
			n := p.Shape().TotalSize()
			ck.Optimizer.M = map[string]float32s{p.Name(): make([]float32, n)}
			ck.Optimizer.V = map[string]float32s{p.Name(): make([]float32, n)}
			break
		}
	}
	seed, err := json.Marshal(ck)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	before := fingerprint(f, tn)
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := DecodeCheckpoint(bytes.NewReader(withDigest(payload)))
		if err != nil {
			return
		}
		if len(c.Model) == 0 {
			c.Model = model
		}
		if err := tn.Restore(c); err != nil {
			if after := fingerprint(t, tn); after != before {
				t.Fatalf("a refused checkpoint (%v) changed the trainer", err)
			}
			return
		}
		// Accepted: the state must be one a run continues from. Put the
		// seed state back for the next input.
		if p, e := tn.Phase(); p != "" && (p.index() < 0 || e < 0) {
			t.Fatalf("restored an impossible progress %q epoch %d", p, e)
		}
		_ = tn.Result()
		var orig Checkpoint
		if err := json.Unmarshal(seed, &orig); err != nil {
			t.Fatal(err)
		}
		orig.Model = model
		if err := tn.Restore(&orig); err != nil {
			t.Fatal(err)
		}
		before = fingerprint(t, tn)
	})
}

// fingerprint digests everything Restore may change.
func fingerprint(tb testing.TB, tn *Trainer) string {
	tb.Helper()
	ck, err := tn.Checkpoint()
	if err != nil {
		tb.Fatal(err)
	}
	data, err := json.Marshal(ck)
	if err != nil {
		tb.Fatal(err)
	}
	return digestOf(string(data))
}

// FuzzParseLayerLUT: any -layer-lut value parses into a pattern and a
// multiplier that print back to an equivalent value, or is refused.
func FuzzParseLayerLUT(f *testing.F) {
	for _, s := range []string{"conv2=drum:k=3,signed=true", "s*.conv?=../luts/mul8u_L40.bin", "conv1", "=x", "a=", " fc1 = exact ", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLayerLUT(s)
		if err != nil {
			if !strings.Contains(err.Error(), "NAME=SPEC") {
				t.Fatalf("error %q does not show the syntax", err)
			}
			return
		}
		if l.Layer == "" || l.LUT == "" || strings.Contains(l.Layer, "=") {
			t.Fatalf("%q parsed into %+v", s, l)
		}
		again, err := ParseLayerLUT(l.String())
		if err != nil || again != l {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, l, l.String(), again, err)
		}
	})
}
