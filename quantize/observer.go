package quantize

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/goapprox/goapprox/internal/asm/f32"
	"github.com/goapprox/goapprox/internal/parallel"
)

// Observer watches the values of one tensor during training and proposes
// quantization parameters for it.
//
// Observe is a no-op while the observer is frozen, so a frozen observer
// keeps its parameters. Params fails until at least one tensor has been
// observed (or parameters were restored with SetState).
//
// NaN and ±Inf values are skipped, so that one bad batch cannot poison the
// range, and counted (NonFinite) so that callers can report them. Observe
// cannot return an error; bad input (a shape that does not match the values
// or the channels seen before) is remembered and returned by Params until
// Reset.
type Observer interface {
	// Observe records the values of a C-order tensor of the given shape.
	// A nil shape means a flat vector (per-tensor schemes only).
	Observe(values []float32, shape []int)
	// Params returns the parameters for what has been observed so far.
	Params() (Params, error)
	Freeze()
	Unfreeze()
	Frozen() bool
	// Reset forgets everything observed, including errors and the
	// non-finite count; it does not unfreeze.
	Reset()
	// Kind is the observer's kind.
	Kind() ObserverKind
	// NonFinite counts the NaN and ±Inf values skipped since the last Reset.
	NonFinite() int64
	// State serialises everything the observer has learnt (JSON), so that
	// SetState on an observer of the same kind and scheme, or
	// ObserverFromState, restores bit-identical Params.
	State() ([]byte, error)
	SetState(data []byte) error
}

// ObserverKind names an observer algorithm. Its string is the name flags,
// configuration files and observer states use; ParseObserverKind turns such
// a name back into a kind.
type ObserverKind string

// The observer kinds.
const (
	// KindMinMax is a running min/max (NewMinMax).
	KindMinMax ObserverKind = "minmax"
	// KindMovingAverage is PyTorch's moving-average min/max with constant
	// DefaultAveragingConstant (NewMovingAverageMinMax).
	KindMovingAverage ObserverKind = "moving_average"
	// KindHistogram chooses the clipping range that minimises the L2
	// quantization error of a histogram (NewHistogram).
	KindHistogram ObserverKind = "histogram"
)

// ObserverKinds lists the observer kinds, in a fixed order.
func ObserverKinds() []ObserverKind {
	return []ObserverKind{KindMinMax, KindMovingAverage, KindHistogram}
}

// ObserverNames returns the names of the observer kinds, in the order of
// ObserverKinds, for flags and messages.
func ObserverNames() []string {
	kinds := ObserverKinds()
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return names
}

// ParseObserverKind returns the observer kind with the given name.
func ParseObserverKind(name string) (ObserverKind, error) {
	for _, k := range ObserverKinds() {
		if string(k) == name {
			return k, nil
		}
	}
	return "", fmt.Errorf("quantize: no observer kind %q; the kinds are %s", name, strings.Join(ObserverNames(), ", "))
}

// String returns the kind's name.
func (k ObserverKind) String() string { return string(k) }

// Set parses a kind's name (flag.Value), so that a command-line flag can
// hold an ObserverKind directly.
func (k *ObserverKind) Set(name string) error {
	parsed, err := ParseObserverKind(name)
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// NewObserver returns an observer of the given kind with its default
// settings (moving average constant DefaultAveragingConstant, histogram
// DefaultHistogramBins bins). The kind is an ObserverKind or its name as a
// string (from a flag or a Preset). Whether the observer is per tensor or
// per channel, and along which axis, is the scheme's choice.
func NewObserver[K ~string](kind K, s Scheme) (Observer, error) {
	switch k := ObserverKind(kind); k {
	case KindMinMax:
		return NewMinMax(s)
	case KindMovingAverage:
		return NewMovingAverageMinMax(s, DefaultAveragingConstant)
	case KindHistogram:
		return NewHistogram(s, DefaultHistogramBins)
	}
	_, err := ParseObserverKind(string(kind))
	return nil, err
}

// ObserverFromState rebuilds an observer, with its kind, scheme and
// settings, from the output of State.
func ObserverFromState(data []byte) (Observer, error) {
	var head stateHeader
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("quantize: observer state is not valid JSON: %w", err)
	}
	var o Observer
	switch head.Kind {
	case KindMinMax, KindMovingAverage:
		o = &MinMax{kind: head.Kind, scheme: head.Scheme, averaging: head.AveragingConstant}
	case KindHistogram:
		o = &Histogram{scheme: head.Scheme, bins: head.Bins}
	default:
		return nil, fmt.Errorf("quantize: observer state has kind %q; the kinds are %s", head.Kind, strings.Join(ObserverNames(), ", "))
	}
	if err := o.SetState(data); err != nil {
		return nil, err
	}
	return o, nil
}

// stateVersion is written into every state so that a later format can
// still read, or clearly refuse, older checkpoints.
const stateVersion = 1

// stateHeader holds the fields every observer state starts with, and the
// settings ObserverFromState needs before it can call SetState.
type stateHeader struct {
	Kind              ObserverKind `json:"kind"`
	Version           int          `json:"version"`
	Scheme            Scheme       `json:"scheme"`
	AveragingConstant float32      `json:"averaging_constant,omitempty"`
	Bins              int          `json:"bins,omitempty"`
	Frozen            bool         `json:"frozen"`
	NonFinite         int64        `json:"non_finite"`
}

// checkHeader verifies that a state belongs to an observer with this kind,
// scheme and settings.
func (h stateHeader) check(want stateHeader) error {
	if h.Version != stateVersion {
		return fmt.Errorf("quantize: observer state version %d; this build reads version %d", h.Version, stateVersion)
	}
	if h.Kind != want.Kind {
		return fmt.Errorf("quantize: state of a %q observer given to a %q observer", h.Kind, want.Kind)
	}
	if h.Scheme != want.Scheme {
		return fmt.Errorf("quantize: state saved with scheme %s, observer has %s (use ObserverFromState to restore the saved scheme)", h.Scheme, want.Scheme)
	}
	if h.AveragingConstant != want.AveragingConstant || h.Bins != want.Bins {
		return fmt.Errorf("quantize: state saved with averaging constant %g and %d bins, observer has %g and %d (use ObserverFromState)",
			h.AveragingConstant, h.Bins, want.AveragingConstant, want.Bins)
	}
	if h.NonFinite < 0 {
		return fmt.Errorf("quantize: observer state has a negative non-finite count %d", h.NonFinite)
	}
	return nil
}

// layout checks values against shape for scheme s and returns, for a
// C-order tensor, the number of elements per run of one channel (inner) and
// the number of channels, so that flat element i is in channel
// (i/inner)%channels. Per-tensor schemes have one channel.
func layout(s Scheme, n int, shape []int) (inner, channels int, err error) {
	if shape == nil {
		if s.PerChannel {
			return 0, 0, fmt.Errorf("quantize: per-channel scheme %s needs a shape", s)
		}
		return n, 1, nil
	}
	size := 1
	for _, d := range shape {
		if d < 0 {
			return 0, 0, fmt.Errorf("quantize: shape %v has a negative dimension", shape)
		}
		size *= d
	}
	if size != n {
		return 0, 0, fmt.Errorf("quantize: shape %v holds %d values but %d were given", shape, size, n)
	}
	if !s.PerChannel {
		return n, 1, nil
	}
	if s.Axis >= len(shape) {
		return 0, 0, fmt.Errorf("quantize: channel axis %d but the tensor has rank %d (shape %v)", s.Axis, len(shape), shape)
	}
	inner = 1
	for _, d := range shape[s.Axis+1:] {
		inner *= d
	}
	return inner, shape[s.Axis], nil
}

// tensorRanges is the common start of every observer's Observe: it checks
// a tensor against the scheme and against the channel count observed
// before (0 when none), and returns the tensor's layout and the minimum and
// maximum finite value of each channel. An error is kept by the observer
// until Reset; lo == nil with no error means an empty tensor.
func tensorRanges(s Scheme, values []float32, shape []int, seenChannels int) (inner, channels int, lo, hi []float32, nonFinite int64, err error) {
	inner, channels, err = layout(s, len(values), shape)
	if err != nil {
		return 0, 0, nil, nil, 0, fmt.Errorf("%w (Reset the observer to clear this)", err)
	}
	if len(values) == 0 {
		return inner, channels, nil, nil, 0, nil
	}
	if seenChannels != 0 && seenChannels != channels {
		return 0, 0, nil, nil, 0, fmt.Errorf("quantize: tensor has %d channels along axis %d but %d were observed before (Reset the observer to clear this)",
			channels, s.Axis, seenChannels)
	}
	lo, hi, nonFinite = channelRanges(values, inner, channels)
	return inner, channels, lo, hi, nonFinite, nil
}

// channelRanges returns the minimum and maximum finite value of each
// channel (+Inf/-Inf for a channel without any) and the count of skipped
// non-finite values. A per-tensor scan of many values is split over the
// workers: min and max do not depend on the order (Go's min puts -0 below
// +0), so the result is the serial one.
func channelRanges(values []float32, inner, channels int) (lo, hi []float32, nonFinite int64) {
	lo, hi = make([]float32, channels), make([]float32, channels)
	for c := range lo {
		lo[c], hi[c] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	if channels == 1 && len(values) >= 2*scanChunk {
		parts := parallel.Parts(len(values), 0, scanChunk)
		ranges := make([]scanRange, parts)
		parallel.RunParts(len(values), parts, 0, parallel.Func(func(p, start, end int) {
			r := &ranges[p]
			r.lo, r.hi, r.nonFinite = finiteRange(values[start:end], float32(math.Inf(1)), float32(math.Inf(-1)))
		}))
		for _, r := range ranges {
			lo[0], hi[0] = min(lo[0], r.lo), max(hi[0], r.hi)
			nonFinite += r.nonFinite
		}
		return lo, hi, nonFinite
	}
	forEachRun(len(values), inner, channels, func(c, start, end int) {
		var bad int64
		lo[c], hi[c], bad = finiteRange(values[start:end], lo[c], hi[c])
		nonFinite += bad
	})
	return lo, hi, nonFinite
}

// scanChunk is the fewest values a worker scans in an observer's pass over
// a tensor: below it, handing out the part costs more than the scan.
const scanChunk = 1 << 16

// scanRange is one worker's part of channelRanges.
type scanRange struct {
	lo, hi    float32
	nonFinite int64
}

// finiteRange folds the finite values into the range [lo, hi] and counts
// the others.
func finiteRange(values []float32, lo, hi float32) (float32, float32, int64) {
	l, h, bad := f32.FiniteRange(values)
	return min(lo, l), max(hi, h), int64(bad)
}

// seen reports whether a channel range holds at least one finite value.
func seen(lo, hi float32) bool { return lo <= hi }

// forEachRun calls f for each run of consecutive elements that share a
// channel: elements start..end-1 are in channel c. See layout.
func forEachRun(n, inner, channels int, f func(c, start, end int)) {
	if inner <= 0 {
		return
	}
	for start, k := 0, 0; start < n; start, k = start+inner, k+1 {
		f(k%channels, start, min(start+inner, n))
	}
}
