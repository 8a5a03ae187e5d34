package quantize

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/goapprox/goapprox/internal/parallel"
)

// DefaultHistogramBins is PyTorch's HistogramObserver default.
const DefaultHistogramBins = 2048

// Histogram is an observer that keeps a histogram of the values seen and
// proposes the clipping range that minimises the L2 quantization error,
// the idea of PyTorch's HistogramObserver. Clipping a few outliers makes
// the step between codes finer for all the other values, so one huge value
// does not spoil the resolution of a whole tensor.
//
// The histogram has a fixed number of equal bins spanning the smallest and
// largest finite value seen. When a tensor widens that span, the old counts
// are spread over the new bins in proportion to overlap (values are taken
// as uniform inside a bin), then the new values are added.
//
// The search is PyTorch's (_non_linear_param_search): starting from the
// whole histogram, it repeatedly moves whichever end, lower or upper,
// gives up less of the mass to reach the next quantile step (1e-5 of the
// total), computes the quantization error of the narrower range, and stops
// at the first step where the error grows. The error of a range is
// integral of (x - q(x))^2 over the histogram's density, where q maps x to
// the centre of its code's interval (clamped to the range). Unlike PyTorch,
// which divides the range into 2^bits intervals whatever the code range,
// the intervals here are the scheme's codes (128 for codes 0..127), which
// is the quantizer that will actually be used.
//
// A per-channel scheme keeps one histogram per channel (PyTorch has no
// per-channel histogram observer).
type Histogram struct {
	scheme Scheme
	bins   int

	ch        []histChannel // nil before the first observation
	frozen    bool
	nonFinite int64
	err       error
	cum       []float64 // scratch for clipRange's cumulative counts
	// partCounts are the counting bins of add and addParallel, one set
	// per worker.
	partCounts [][]uint32
}

// histChannel is the histogram of one channel: counts over equal bins
// spanning [lo, hi]; counts is nil until a finite value is seen.
//
// The clipping range is cached (for clipCodes codes) until the counts
// change: a layer asks for parameters on every training step, also while
// its observers are frozen, and the search costs more than the step's
// products.
type histChannel struct {
	lo, hi float32
	counts []float64

	clipLo, clipHi float32
	clipCodes      int // 0: no cached range
}

// NewHistogram returns a histogram observer with the given number of bins
// (DefaultHistogramBins unless there is a reason).
func NewHistogram(s Scheme, bins int) (*Histogram, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if bins < 2 {
		return nil, fmt.Errorf("quantize: a histogram needs at least 2 bins, got %d", bins)
	}
	return &Histogram{scheme: s, bins: bins}, nil
}

// Scheme returns the observer's scheme.
func (o *Histogram) Scheme() Scheme { return o.scheme }

// Kind returns KindHistogram.
func (o *Histogram) Kind() ObserverKind { return KindHistogram }

// Bins returns the number of histogram bins.
func (o *Histogram) Bins() int { return o.bins }

func (o *Histogram) Freeze()          { o.frozen = true }
func (o *Histogram) Unfreeze()        { o.frozen = false }
func (o *Histogram) Frozen() bool     { return o.frozen }
func (o *Histogram) NonFinite() int64 { return o.nonFinite }

// Reset forgets the histograms, errors and non-finite count.
func (o *Histogram) Reset() { o.ch, o.err, o.nonFinite = nil, nil, 0 }

// Observe records a tensor's values; see Observer.
func (o *Histogram) Observe(values []float32, shape []int) {
	if o.frozen || o.err != nil {
		return
	}
	inner, channels, lo, hi, bad, err := tensorRanges(o.scheme, values, shape, len(o.ch))
	if err != nil {
		o.err = err
		return
	}
	if lo == nil {
		return
	}
	o.nonFinite += bad
	if o.ch == nil {
		o.ch = make([]histChannel, channels)
	}
	for c := range o.ch {
		if seen(lo[c], hi[c]) {
			o.ch[c].widen(lo[c], hi[c], o.bins)
		}
	}
	if channels == 1 && len(values) >= 2*scanChunk {
		o.addParallel(values)
		return
	}
	counts := o.scratch(1)
	forEachRun(len(values), inner, channels, func(c, start, end int) {
		o.ch[c].add(values[start:end], counts)
	})
}

// scratch returns parts sets of the counting bins of countInto.
func (o *Histogram) scratch(parts int) [][]uint32 {
	for len(o.partCounts) < parts {
		o.partCounts = append(o.partCounts, make([]uint32, countWays*o.bins))
	}
	return o.partCounts[:parts]
}

// addParallel is add for a per-tensor histogram, split over the workers:
// each counts its part into its own bins, and the parts' counts, whole
// numbers, are summed exactly before they meet the histogram's, as add's
// are: the result does not depend on the number of parts.
func (o *Histogram) addParallel(values []float32) {
	h := &o.ch[0]
	if h.counts == nil {
		return // nothing finite seen yet
	}
	h.clipCodes = 0
	parts := o.scratch(parallel.Parts(len(values), 0, scanChunk))
	parallel.RunParts(len(values), len(parts), 0, parallel.Func(func(p, start, end int) {
		clear(parts[p])
		h.countInto(parts[p], values[start:end])
	}))
	h.merge(parts)
}

// bin returns the index of the bin holding v.
func (h *histChannel) bin(v float64) int {
	n := len(h.counts)
	width := (float64(h.hi) - float64(h.lo)) / float64(n)
	if width == 0 {
		return 0
	}
	i := math.Floor((v - float64(h.lo)) / width)
	return int(math.Min(math.Max(i, 0), float64(n-1)))
}

// add counts the finite values, which must lie inside [h.lo, h.hi]: it
// counts them into scratch (see scratch), then adds those counts to the
// histogram's, which are fractions once widen has spread them. A count is
// whole until then, so one addition per bin rounds the same way however
// the values were split. Fewer values than the scratch has bins (a short
// run of a per-channel histogram) are added to the histogram one by one,
// which costs less than clearing and merging the scratch; the choice
// depends on the shape alone.
func (h *histChannel) add(values []float32, scratch [][]uint32) {
	if h.counts == nil {
		return
	}
	h.clipCodes = 0
	if len(values) < countWays*len(h.counts) {
		h.addEach(values)
		return
	}
	clear(scratch[0])
	h.countInto(scratch[0], values)
	h.merge(scratch[:1])
}

// addEach adds one to the histogram's bin of each finite value.
func (h *histChannel) addEach(values []float32) {
	n := len(h.counts)
	lo := float64(h.lo)
	width := (float64(h.hi) - lo) / float64(n)
	inv := 1 / width
	for _, v := range values {
		if !isFinite(v) {
			continue
		}
		if width == 0 {
			h.counts[0]++
			continue
		}
		h.counts[min(int((float64(v)-lo)*inv), n-1)]++ // as countInto
	}
}

// countWays is the number of interleaved sets of bins countInto counts
// into: values cluster (a ReLU's output is half zeros), and counting
// neighbours into one bin makes each count wait for the previous store.
const countWays = 4

// countInto adds one to the bin (bins of h's width from h.lo) of each
// finite value, value i counting in set i%countWays of sets (countWays
// sets of len(h.counts) bins).
func (h *histChannel) countInto(sets []uint32, values []float32) {
	n := len(h.counts)
	s0, s1, s2, s3 := sets[:n], sets[n:2*n], sets[2*n:3*n], sets[3*n:4*n]
	lo := float64(h.lo)
	width := (float64(h.hi) - lo) / float64(n)
	if width == 0 {
		for _, v := range values {
			if isFinite(v) {
				s0[0]++
			}
		}
		return
	}
	inv := 1 / width
	// v >= lo, so the conversion truncates as floor would; the top value
	// lands one past the last bin and is kept in it.
	bin := func(v float32) int { return min(int((float64(v)-lo)*inv), n-1) }
	i := 0
	for ; i+countWays <= len(values); i += countWays {
		a, b, c, d := values[i], values[i+1], values[i+2], values[i+3]
		if isFinite(a) {
			s0[bin(a)]++
		}
		if isFinite(b) {
			s1[bin(b)]++
		}
		if isFinite(c) {
			s2[bin(c)]++
		}
		if isFinite(d) {
			s3[bin(d)]++
		}
	}
	for ; i < len(values); i++ {
		if v := values[i]; isFinite(v) {
			s0[bin(v)]++
		}
	}
}

// merge adds the whole-number counts in parts (each countWays sets of
// bins) to the histogram's, one addition per bin.
func (h *histChannel) merge(parts [][]uint32) {
	n := len(h.counts)
	for i := range h.counts {
		var total uint64
		for _, sets := range parts {
			for w := range countWays {
				total += uint64(sets[w*n+i])
			}
		}
		if total != 0 {
			h.counts[i] += float64(total)
		}
	}
}

// widen makes the histogram span [lo, hi] as well as what it spans now,
// moving the old counts to the new bins.
func (h *histChannel) widen(lo, hi float32, bins int) {
	if h.counts == nil {
		h.lo, h.hi, h.counts = lo, hi, make([]float64, bins)
		return
	}
	if lo >= h.lo && hi <= h.hi {
		return
	}
	h.clipCodes = 0
	old := *h
	h.lo, h.hi = min(lo, old.lo), max(hi, old.hi)
	h.counts = make([]float64, bins)
	oldWidth := (float64(old.hi) - float64(old.lo)) / float64(bins)
	newWidth := (float64(h.hi) - float64(h.lo)) / float64(bins)
	for i, c := range old.counts {
		if c == 0 {
			continue
		}
		a := float64(old.lo) + float64(i)*oldWidth
		j := h.bin(a)
		if oldWidth == 0 {
			h.counts[j] += c // all old values were one point
			continue
		}
		// The new bins are at least as wide as the old ones, so an old bin
		// overlaps at most two of them.
		boundary := float64(h.lo) + float64(j+1)*newWidth
		if j == bins-1 || a+oldWidth <= boundary {
			h.counts[j] += c
			continue
		}
		frac := math.Min(math.Max((boundary-a)/oldWidth, 0), 1)
		h.counts[j] += c * frac
		h.counts[j+1] += c * (1 - frac)
	}
}

// clipRange searches the range [lo, hi] that minimises the quantization
// error with codes intervals; see Histogram.
// cum is scratch of at least len(h.counts) values.
func (h *histChannel) clipRange(codes int, cum []float64) (lo, hi float32) {
	n := len(h.counts)
	width := (float64(h.hi) - float64(h.lo)) / float64(n)
	if width == 0 {
		return h.lo, h.hi
	}
	cum = cum[:n]
	total := 0.0
	for i, c := range h.counts {
		total += c
		cum[i] = total
	}
	const step = 1e-5
	start, end := 0, n-1
	// l and r only move inwards as the quantiles tighten, so they carry
	// over between steps instead of being searched from the ends again.
	l, r := 0, n-1
	best := math.Inf(1)
	for ia, ib := 0, 0; float64(ia)*step < 1-float64(ib)*step; {
		nextAlpha, nextBeta := float64(ia+1)*step, 1-float64(ib+1)*step
		l = max(start, min(l, end))
		for l < end && cum[l] < nextAlpha*total {
			l++
		}
		r = min(end, max(r, start))
		for r > start && cum[r] > nextBeta*total {
			r--
		}
		nextStart, nextEnd := start, end
		if l-start > end-r {
			nextStart = l
			ia++
		} else {
			nextEnd = r
			ib++
		}
		if nextStart == start && nextEnd == end {
			continue
		}
		e := quantError(h.counts, width, nextStart, nextEnd, codes)
		if e > best {
			break
		}
		best, start, end = e, nextStart, nextEnd
	}
	return float32(float64(h.lo) + width*float64(start)), float32(float64(h.lo) + width*float64(end+1))
}

// quantError is the L2 error of quantizing the histogram (counts over bins
// of the given width, values uniform inside a bin) to codes equal
// intervals spanning bins start..end, each value mapped to the centre of
// its interval and values outside clamped to the first or last interval.
func quantError(counts []float64, width float64, start, end, codes int) float64 {
	dst := width * float64(end-start+1) / float64(codes)
	if dst == 0 {
		return 0
	}
	half := dst / 2
	whole := cube(half) - cube(-half) // sq(-half, half), see below
	last := float64(codes - 1)
	// interval is the code interval holding x (measured from the start of
	// the range), clamped to the codes; written with comparisons rather
	// than math.Min/Max, which are calls on amd64 (x/dst is never NaN).
	interval := func(x float64) int {
		k := math.Floor(x / dst)
		if k < 0 {
			k = 0
		}
		if k > last {
			k = last
		}
		return int(k)
	}
	sum := 0.0
	for i, c := range counts {
		if c == 0 {
			continue
		}
		// The bin [a, b], measured from the start of the range.
		a := float64(i-start) * width
		b := a + width
		ia, ib := interval(a), interval(b)
		ca := (float64(ia) + 0.5) * dst // centre of a's interval
		var e float64
		if ia == ib {
			// The integral of (x - ca)^2 from a to b.
			e = (cube(b-ca) - cube(a-ca)) / 3
		} else {
			// From a to the end of its interval, the whole intervals in
			// between, then from the start of b's interval to b.
			cb := (float64(ib) + 0.5) * dst
			e = (cube(half)-cube(a-ca))/3 + float64(ib-ia-1)*(whole/3) + (cube(b-cb)-cube(-half))/3
		}
		sum += c / width * e
	}
	return sum
}

func cube(x float64) float64 { return x * x * x }

// Range returns the clipping range of each channel that Params uses; a
// channel that has seen no finite value reports [0, 0].
func (o *Histogram) Range() (lo, hi []float32, err error) {
	if o.err != nil {
		return nil, nil, o.err
	}
	qmin, qmax := o.scheme.Range()
	codes := int(qmax-qmin) + 1
	lo, hi = make([]float32, len(o.ch)), make([]float32, len(o.ch))
	for c := range o.ch {
		lo[c], hi[c] = float32(math.Inf(1)), float32(math.Inf(-1))
		h := &o.ch[c]
		if h.counts == nil {
			continue
		}
		if h.clipCodes != codes {
			if len(o.cum) < len(h.counts) {
				o.cum = make([]float64, len(h.counts))
			}
			h.clipLo, h.clipHi = h.clipRange(codes, o.cum)
			h.clipCodes = codes
		}
		lo[c], hi[c] = h.clipLo, h.clipHi
	}
	return finiteRanges(lo, hi, o.nonFinite)
}

// Params returns the scheme's parameters for the clipping range.
func (o *Histogram) Params() (Params, error) {
	lo, hi, err := o.Range()
	if err != nil {
		return Params{}, err
	}
	return o.scheme.ParamsFromMinMax(lo, hi)
}

// histogramState is the serialised form of a Histogram; a null channel has
// seen no finite value.
type histogramState struct {
	stateHeader
	Channels []*histogramChannelState `json:"channels"`
}

type histogramChannelState struct {
	Min    float32   `json:"min"`
	Max    float32   `json:"max"`
	Counts []float64 `json:"counts"`
}

func (o *Histogram) header() stateHeader {
	return stateHeader{Kind: KindHistogram, Version: stateVersion, Scheme: o.scheme, Bins: o.bins,
		Frozen: o.frozen, NonFinite: o.nonFinite}
}

// State serialises the observer; see Observer.
func (o *Histogram) State() ([]byte, error) {
	if o.err != nil {
		return nil, fmt.Errorf("quantize: cannot save an observer in error: %w", o.err)
	}
	st := histogramState{stateHeader: o.header()}
	if o.ch != nil {
		st.Channels = make([]*histogramChannelState, len(o.ch))
		for c, h := range o.ch {
			if h.counts != nil {
				st.Channels[c] = &histogramChannelState{Min: h.lo, Max: h.hi, Counts: h.counts}
			}
		}
	}
	return json.Marshal(st)
}

// SetState restores a state saved by a histogram observer with the same
// scheme and number of bins. On error the observer is unchanged.
func (o *Histogram) SetState(data []byte) error {
	var st histogramState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("quantize: observer state is not valid JSON: %w", err)
	}
	if err := st.check(o.header()); err != nil {
		return err
	}
	if err := o.scheme.Validate(); err != nil {
		return err
	}
	if o.bins < 2 {
		return fmt.Errorf("quantize: a histogram needs at least 2 bins, got %d", o.bins)
	}
	if !o.scheme.PerChannel && len(st.Channels) > 1 {
		return fmt.Errorf("quantize: per-tensor observer state has %d histograms", len(st.Channels))
	}
	var ch []histChannel
	if st.Channels != nil {
		ch = make([]histChannel, len(st.Channels))
		for c, s := range st.Channels {
			if s == nil {
				continue
			}
			if !isFinite(s.Min) || !isFinite(s.Max) || s.Min > s.Max {
				return fmt.Errorf("quantize: observer state channel %d has range [%g, %g]", c, s.Min, s.Max)
			}
			if len(s.Counts) != o.bins {
				return fmt.Errorf("quantize: observer state channel %d has %d bins, want %d", c, len(s.Counts), o.bins)
			}
			for i, n := range s.Counts {
				if !(n >= 0) || math.IsInf(n, 0) {
					return fmt.Errorf("quantize: observer state channel %d bin %d has count %g", c, i, n)
				}
			}
			ch[c] = histChannel{lo: s.Min, hi: s.Max, counts: append([]float64(nil), s.Counts...)}
		}
	}
	o.ch, o.err = ch, nil
	o.frozen, o.nonFinite = st.Frozen, st.NonFinite
	return nil
}
