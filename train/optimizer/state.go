package optimizer

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/goapprox/goapprox/internal/f32bytes"
)

// State is the serialisable state of an optimizer: its kind, the number of
// steps taken and, per parameter name, the first moment (Adam's, or SGD's
// momentum buffer) and Adam's second moment.
type State struct {
	Kind  string              `json:"kind"`
	Steps int                 `json:"steps"`
	M     map[string]Float32s `json:"m,omitempty"`
	V     map[string]Float32s `json:"v,omitempty"`
}

// Clone returns a deep copy of s.
func (s State) Clone() State {
	c := State{Kind: s.Kind, Steps: s.Steps, M: cloneMoments(s.M), V: cloneMoments(s.V)}
	return c
}

func cloneMoments(m map[string]Float32s) map[string]Float32s {
	out := make(map[string]Float32s, len(m))
	for k, v := range m {
		out[k] = append(Float32s(nil), v...)
	}
	return out
}

// Float32s is a []float32 that JSON stores as the base64 of its values'
// little-endian IEEE 754 bits: exact for every value, NaN and infinities
// included (JSON numbers cannot hold those), and a quarter of the size of
// decimal numbers. Decoding also accepts an array of numbers, the form
// earlier files used.
type Float32s []float32

// MarshalJSON stores the values as base64 of their bits.
func (f Float32s) MarshalJSON() ([]byte, error) { return json.Marshal(f32bytes.Encode(f)) }

// UnmarshalJSON reads base64 of the values' bits or an array of numbers.
func (f *Float32s) UnmarshalJSON(data []byte) error {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		var v []float32
		if err := json.Unmarshal(t, &v); err != nil {
			return err
		}
		*f = v
		return nil
	}
	var b []byte
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("float32 values: %w", err)
	}
	v, err := f32bytes.Decode(b)
	if err != nil {
		return fmt.Errorf("float32 values: %w", err)
	}
	*f = v
	return nil
}
