package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestFloat32sRoundTrip checks that float32s keeps every bit pattern
// (NaN payloads, ±Inf, -0, subnormals), is stored as a string, reads the
// array form of version 1, and refuses a byte count that is not whole
// values.
func TestFloat32sRoundTrip(t *testing.T) {
	in := float32s{0, float32(math.Copysign(0, -1)), 1.5, -3.25e-38, math.SmallestNonzeroFloat32, math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc00001), math.Float32frombits(0xffa00000)}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != '"' {
		t.Fatalf("encoded as %s, want a base64 string", data)
	}
	var out float32s
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d values back, want %d", len(out), len(in))
	}
	for i := range in {
		if math.Float32bits(out[i]) != math.Float32bits(in[i]) {
			t.Errorf("[%d]: bits %#x back, want %#x", i, math.Float32bits(out[i]), math.Float32bits(in[i]))
		}
	}
	var v1 float32s
	if err := json.Unmarshal([]byte(" [1.5, -2, 3e-7]"), &v1); err != nil || len(v1) != 3 || v1[0] != 1.5 || v1[1] != -2 || v1[2] != 3e-7 {
		t.Fatalf("array form: %v, %v", v1, err)
	}
	if err := json.Unmarshal([]byte(`"AAAA"`), &v1); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Fatalf("3 bytes: error %v, want one about whole values", err)
	}
}

// TestVersion1CheckpointStillReads writes a checkpoint in version 1's form
// (moments as JSON arrays) and checks that it decodes to the same moments,
// and that the version 2 form is several times smaller.
func TestVersion1CheckpointStillReads(t *testing.T) {
	tn := newSmall(t, smallConfig())
	if err := tn.SetPhase(PhaseQAT); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.TrainEpoch(); err != nil {
		t.Fatal(err)
	}
	c, err := tn.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	// Version 1: the same document with plain arrays for the moments.
	var doc map[string]any
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatal(err)
	}
	plain := func(m map[string]float32s) map[string][]float32 {
		out := map[string][]float32{}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	opt := doc["optimizer"].(map[string]any)
	opt["m"], opt["v"] = plain(c.Optimizer.M), plain(c.Optimizer.V)
	v1, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(v1)
	file := fmt.Sprintf("%s 1\nsha256 %s\n%s\n", checkpointMagic, hex.EncodeToString(sum[:]), v1)
	got, err := DecodeCheckpoint(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Optimizer.M) == 0 || len(got.Optimizer.M) != len(c.Optimizer.M) {
		t.Fatalf("%d first moments back, want %d", len(got.Optimizer.M), len(c.Optimizer.M))
	}
	for name, m := range c.Optimizer.M {
		for i := range m {
			if math.Float32bits(got.Optimizer.M[name][i]) != math.Float32bits(m[i]) || math.Float32bits(got.Optimizer.V[name][i]) != math.Float32bits(c.Optimizer.V[name][i]) {
				t.Fatalf("%s[%d]: moments differ after reading version 1", name, i)
			}
		}
	}
	var v2 bytes.Buffer
	if err := c.Write(&v2); err != nil {
		t.Fatal(err)
	}
	t.Logf("checkpoint: version 1 form %d bytes, version 2 %d bytes", len(file), v2.Len())
	if v2.Len() >= len(file) {
		t.Errorf("version 2 (%d bytes) is not smaller than version 1 (%d)", v2.Len(), len(file))
	}
	if _, err := DecodeCheckpoint(strings.NewReader(strings.Replace(file, checkpointMagic+" 1", checkpointMagic+" 3", 1))); err == nil ||
		!strings.Contains(err.Error(), "reads versions 1 to 2") {
		t.Fatalf("version 3: error %v, want one naming the versions read", err)
	}
}
