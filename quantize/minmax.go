package quantize

import (
	"encoding/json"
	"fmt"
	"math"
)

// DefaultAveragingConstant is PyTorch's MovingAverageMinMaxObserver default.
const DefaultAveragingConstant float32 = 0.01

// MinMax is a min/max observer, per tensor or per channel as its scheme
// says. Plain (NewMinMax), it keeps the running minimum and maximum of all
// values seen, as PyTorch's MinMaxObserver and PerChannelMinMaxObserver. As a
// moving average (NewMovingAverageMinMax) the first observation sets the
// range and each later one moves it by a fraction c towards the batch's own
// range, as PyTorch's MovingAverage(PerChannel)MinMaxObserver:
//
//	min += c * (batchMin - min);  max += c * (batchMax - max)
type MinMax struct {
	kind      ObserverKind
	scheme    Scheme
	averaging float32 // 0 for a running min/max

	// lo and hi are per channel; +Inf/-Inf while a channel has seen no
	// finite value; nil before the first observation.
	lo, hi    []float32
	frozen    bool
	nonFinite int64
	err       error
}

// NewMinMax returns a running min/max observer.
func NewMinMax(s Scheme) (*MinMax, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &MinMax{kind: KindMinMax, scheme: s}, nil
}

// NewMovingAverageMinMax returns a moving-average min/max observer with
// averaging constant c in (0, 1] (PyTorch's default is 0.01).
func NewMovingAverageMinMax(s Scheme, c float32) (*MinMax, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if !(c > 0 && c <= 1) {
		return nil, fmt.Errorf("quantize: averaging constant %g is outside (0, 1]", c)
	}
	return &MinMax{kind: KindMovingAverage, scheme: s, averaging: c}, nil
}

// Scheme returns the observer's scheme.
func (o *MinMax) Scheme() Scheme { return o.scheme }

// Kind returns KindMinMax or KindMovingAverage.
func (o *MinMax) Kind() ObserverKind { return o.kind }

// AveragingConstant returns the moving-average constant, 0 for a running min/max.
func (o *MinMax) AveragingConstant() float32 { return o.averaging }

func (o *MinMax) Freeze()          { o.frozen = true }
func (o *MinMax) Unfreeze()        { o.frozen = false }
func (o *MinMax) Frozen() bool     { return o.frozen }
func (o *MinMax) NonFinite() int64 { return o.nonFinite }

// Reset forgets the observed ranges, errors and non-finite count.
func (o *MinMax) Reset() {
	o.lo, o.hi, o.err, o.nonFinite = nil, nil, nil, 0
}

// Observe records a tensor's values; see Observer.
func (o *MinMax) Observe(values []float32, shape []int) {
	if o.frozen || o.err != nil {
		return
	}
	_, _, lo, hi, bad, err := tensorRanges(o.scheme, values, shape, len(o.lo))
	if err != nil {
		o.err = err
		return
	}
	if lo == nil {
		return
	}
	o.nonFinite += bad
	if o.lo == nil {
		o.lo, o.hi = lo, hi
		return
	}
	for c := range lo {
		if !seen(lo[c], hi[c]) {
			continue // nothing finite in this channel this time
		}
		if !seen(o.lo[c], o.hi[c]) || o.averaging == 0 {
			o.lo[c] = min(o.lo[c], lo[c])
			o.hi[c] = max(o.hi[c], hi[c])
			continue
		}
		// The conversions round the product to float32 before the sum, as
		// PyTorch's separate tensor operations do; without them the
		// compiler may fuse a multiply-add and change the last bit.
		o.lo[c] = o.lo[c] + float32(o.averaging*(lo[c]-o.lo[c]))
		o.hi[c] = o.hi[c] + float32(o.averaging*(hi[c]-o.hi[c]))
	}
}

// Range returns the observed range of each channel; a channel that has seen
// no finite value reports [0, 0].
func (o *MinMax) Range() (lo, hi []float32, err error) {
	if o.err != nil {
		return nil, nil, o.err
	}
	return finiteRanges(o.lo, o.hi, o.nonFinite)
}

// finiteRanges copies per-channel ranges, mapping unseen channels to
// [0, 0], and fails when no channel has seen anything.
func finiteRanges(lo, hi []float32, nonFinite int64) ([]float32, []float32, error) {
	found := false
	outLo, outHi := make([]float32, len(lo)), make([]float32, len(hi))
	for c := range lo {
		if seen(lo[c], hi[c]) {
			outLo[c], outHi[c] = lo[c], hi[c]
			found = true
		}
	}
	if !found {
		if nonFinite > 0 {
			return nil, nil, fmt.Errorf("quantize: no finite values observed (%d NaN or Inf values were skipped)", nonFinite)
		}
		return nil, nil, fmt.Errorf("quantize: no values observed yet; observe a tensor (or restore a state) first")
	}
	return outLo, outHi, nil
}

// Params returns the scheme's parameters for the observed range.
func (o *MinMax) Params() (Params, error) {
	lo, hi, err := o.Range()
	if err != nil {
		return Params{}, err
	}
	return o.scheme.ParamsFromMinMax(lo, hi)
}

// minMaxState is the serialised form of a MinMax. A null entry in Min/Max
// is a channel that has seen no finite value (JSON has no infinities).
type minMaxState struct {
	stateHeader
	Min []*float32 `json:"min"`
	Max []*float32 `json:"max"`
}

func (o *MinMax) header() stateHeader {
	return stateHeader{Kind: o.kind, Version: stateVersion, Scheme: o.scheme, AveragingConstant: o.averaging,
		Frozen: o.frozen, NonFinite: o.nonFinite}
}

// State serialises the observer; see Observer.
func (o *MinMax) State() ([]byte, error) {
	if o.err != nil {
		return nil, fmt.Errorf("quantize: cannot save an observer in error: %w", o.err)
	}
	st := minMaxState{stateHeader: o.header()}
	if o.lo != nil {
		st.Min, st.Max = make([]*float32, len(o.lo)), make([]*float32, len(o.hi))
		for c := range o.lo {
			if seen(o.lo[c], o.hi[c]) {
				lo, hi := o.lo[c], o.hi[c]
				st.Min[c], st.Max[c] = &lo, &hi
			}
		}
	}
	return json.Marshal(st)
}

// SetState restores a state saved by an observer of the same kind, scheme
// and averaging constant. On error the observer is unchanged.
func (o *MinMax) SetState(data []byte) error {
	var st minMaxState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("quantize: observer state is not valid JSON: %w", err)
	}
	if err := st.check(o.header()); err != nil {
		return err
	}
	if err := o.scheme.Validate(); err != nil {
		return err
	}
	if o.kind == KindMovingAverage && !(o.averaging > 0 && o.averaging <= 1) {
		return fmt.Errorf("quantize: averaging constant %g is outside (0, 1]", o.averaging)
	}
	if len(st.Min) != len(st.Max) {
		return fmt.Errorf("quantize: observer state has %d minima but %d maxima", len(st.Min), len(st.Max))
	}
	if !o.scheme.PerChannel && len(st.Min) > 1 {
		return fmt.Errorf("quantize: per-tensor observer state has %d ranges", len(st.Min))
	}
	var lo, hi []float32
	if st.Min != nil {
		lo, hi = make([]float32, len(st.Min)), make([]float32, len(st.Max))
		for c := range st.Min {
			l, h := st.Min[c], st.Max[c]
			switch {
			case l == nil && h == nil:
				lo[c], hi[c] = float32(math.Inf(1)), float32(math.Inf(-1))
			case l == nil || h == nil:
				return fmt.Errorf("quantize: observer state channel %d has only one of min and max", c)
			case *l > *h:
				return fmt.Errorf("quantize: observer state channel %d has min %g above max %g", c, *l, *h)
			default:
				lo[c], hi[c] = *l, *h
			}
		}
	}
	o.lo, o.hi, o.err = lo, hi, nil
	o.frozen, o.nonFinite = st.Frozen, st.NonFinite
	return nil
}
