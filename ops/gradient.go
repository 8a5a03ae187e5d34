package ops

import (
	"fmt"
	"strconv"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/internal/tablegrad"
	"github.com/goapprox/goapprox/internal/values"
	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/quantize"
)

// GradientKind chooses how the backward pass of an approximate layer
// differentiates its products.
type GradientKind int

const (
	// StraightThrough differentiates the exact product of the codes: the
	// activation's gradient reads the weight's value and the weight's
	// gradient the activation's, whatever the multiplier computed.
	StraightThrough GradientKind = iota
	// TableGradient differentiates the multiplier's own table: its slopes
	// along each operand (lut.Gradient), smoothed with a window, stand in
	// for the operands' values. It needs Approximate mode.
	TableGradient
)

// DefaultGradientWindow is the window of "table" given without one: of the
// windows tried in docs/results-gradients.md, the one that retrained best
// (small windows follow the table's local steps and mislead training with
// harsh multipliers).
const DefaultGradientWindow lut.Window = 32

// Gradient is a layer's choice of backward pass. The zero value is the
// straight-through estimator.
type Gradient struct {
	Kind GradientKind
	// Window is the half-width of the moving average that smooths the
	// table before its slopes are taken (lut.Window, 0..127; 0: slopes of
	// the raw table). Only TableGradient uses it; it must be 0 otherwise.
	Window lut.Window
}

// String returns the gradient in the form ParseGradient reads: "ste" or
// "table:window=H".
func (g Gradient) String() string {
	switch g.Kind {
	case StraightThrough:
		if g.Window != 0 {
			return fmt.Sprintf("ste:window=%d", int(g.Window))
		}
		return "ste"
	case TableGradient:
		return fmt.Sprintf("table:window=%d", int(g.Window))
	}
	return fmt.Sprintf("GradientKind(%d):window=%d", int(g.Kind), int(g.Window))
}

// ParseGradient reads "ste" (or "", the default), "table" (window
// DefaultGradientWindow) or "table:window=H".
func ParseGradient(s string) (Gradient, error) {
	kind, opts, hasOpts := strings.Cut(strings.TrimSpace(s), ":")
	switch kind {
	case "", "ste":
		if hasOpts {
			return Gradient{}, fmt.Errorf("ops: gradient %q: straight-through gradients take no options; use ste, table or table:window=H", s)
		}
		return Gradient{}, nil
	case "table":
	default:
		return Gradient{}, fmt.Errorf("ops: unknown gradient %q: use ste (straight-through), table or table:window=H (H in 0..%d)", s, int(lut.MaxWindow))
	}
	g := Gradient{Kind: TableGradient, Window: DefaultGradientWindow}
	if !hasOpts {
		return g, nil
	}
	name, value, ok := strings.Cut(opts, "=")
	if !ok || name != "window" {
		return Gradient{}, fmt.Errorf("ops: gradient %q: the only option of table gradients is window=H (H in 0..%d)", s, int(lut.MaxWindow))
	}
	h, err := strconv.Atoi(value)
	if err != nil {
		return Gradient{}, fmt.Errorf("ops: gradient %q: window %q is not an integer; H is 0..%d", s, value, int(lut.MaxWindow))
	}
	g.Window = lut.Window(h)
	if err := g.Validate(); err != nil {
		return Gradient{}, fmt.Errorf("ops: %w", err)
	}
	return g, nil
}

// Validate reports a gradient no layer can use (the message has no
// package prefix: callers say which layer or flag it belongs to).
func (g Gradient) Validate() error {
	switch g.Kind {
	case StraightThrough:
		if g.Window != 0 {
			return fmt.Errorf("gradient window %d given for straight-through gradients: the window only applies to table gradients", int(g.Window))
		}
		return nil
	case TableGradient:
		if err := g.Window.Check(); err != nil {
			return fmt.Errorf("table gradient: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown gradient kind %d: use StraightThrough or TableGradient", int(g.Kind))
}

// SetGradient sets the layer's backward pass after checking its window.
//
// It does not check the mode: mode, table and gradient are set
// independently and in any order (a registry configures layers by pattern,
// a training run switches modes between phases), and a layer with table
// gradients may still be evaluated in Float or Quantized mode, where the
// option has no effect. What table gradients need is checked where they are
// used: a gradient op of a forward run outside Approximate mode returns an
// error naming the layer and its mode.
func (s *LayerState) SetGradient(g Gradient) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("ops: layer %q: %w", s.ID, err)
	}
	s.Gradient = g
	return nil
}

// gradientTables caches the prepared slopes of the layer's table (about
// 768 KiB) for one window, keyed like the surrogate by what the slopes
// depend on: the products and the signedness of the axes, which orders
// each axis by value.
type gradientTables struct {
	table  tableKey
	window lut.Window
	t      *tablegrad.Tables
}

// tablesFor returns the slopes of the forward run's table for table
// gradients, building them once per table and window.
func (s *LayerState) tablesFor(rec *runRecord) (*tablegrad.Tables, error) {
	if rec.mode != Approximate {
		return nil, fmt.Errorf("ops: layer %q: table gradients need Approximate mode, but the forward pass ran in %v mode: set the layer's gradient to ste for this mode, or switch it to Approximate with a table", s.ID, rec.mode)
	}
	if rec.table == nil {
		return nil, fmt.Errorf("ops: layer %q: table gradients need a table: call SetTable", s.ID)
	}
	key, h := keyOf(rec.table), rec.grad.Window
	c := &s.gradTables
	if c.t == nil || c.table != key || c.window != h {
		t, err := tablegrad.FromTable(rec.table, h)
		if err != nil {
			return nil, fmt.Errorf("ops: layer %q: %w", s.ID, err)
		}
		*c = gradientTables{table: key, window: h, t: t}
	}
	return c.t, nil
}

// tableQuant sets q to the forward run's scales and zero points in
// tablegrad's terms (sharing the record's slices) and returns it.
func (r *runRecord) tableQuant(q *tablegrad.Quant) *tablegrad.Quant {
	*q = tablegrad.Quant{
		XScale: r.xp.Scale[0], XZero: r.xp.ZeroPoint[0],
		WScale: r.wp.Scale, WZero: r.wp.ZeroPoint,
	}
	return q
}

// tableScratch is a gradient op's memory for table gradients, kept between
// runs: the kernels' workspace, InOut weight codes transposed to one row
// per output, and float32 copies for the generic (float64) code.
type tableScratch struct {
	ws        tablegrad.Workspace
	wT        []byte
	dy32, r32 []float32
	quant     tablegrad.Quant
}

// gradCodes is runRecord.gradCodes for a generic run.
func (g *recordG[T]) gradCodes(r *runRecord, x []T, xs []int, w []T, ws []int, own *[2]operandG[T], threads int) (xq, wq quantizedG[T]) {
	get := func(i int, v []T, shape []int, p *quantize.Params, fromRun *operandG[T]) quantizedG[T] {
		if fromRun.src != nil && len(v) == fromRun.n && &v[0] == fromRun.src && fromRun.params == p &&
			fromRun.q.bytes != nil && fromRun.q.mask != nil {
			return fromRun.q
		}
		own[i].quantize(p, v, shape, nil, threads, true, false, true)
		return own[i].q
	}
	return get(0, x, xs, &r.xp, &g.x), get(1, w, ws, &r.wp, &g.w)
}

// The table-gradient kernels compute in float32: a float64 layer's
// gradients go through float32 copies of dy and of the result, so they
// carry float32 rounding (the slopes themselves are float32).

// out32 returns r itself when it is float32, else a float32 buffer of its
// length in *buf.
func out32[T values.Float](r []T, buf *[]float32) []float32 {
	if f, ok := any(r).([]float32); ok {
		return f
	}
	*buf = grow(*buf, len(r))
	return *buf
}

// store32 copies the float32 result r32 into r unless it is r itself.
func store32[T values.Float](r []T, r32 []float32) {
	if _, ok := any(r).([]float32); ok {
		return
	}
	for i, v := range r32[:len(r)] {
		r[i] = T(v)
	}
}

// linearTableBackwardG is linearTableBackward on the generic code
// (float64, and vector weights in either dtype).
func linearTableBackwardG[T values.Float](s *LayerState, rec *runRecord, layout WeightLayout, wrt int, r, x, w, dy []T, xs, ws tensor.Shape, own *[2]operandG[T], sc *tableScratch) error {
	t, err := s.tablesFor(rec)
	if err != nil {
		return err
	}
	threads := s.threads()
	m, k := xs[0], xs[1]
	n, _ := layout.dims(ws)
	inOut := layout == InOut && !isVector(ws) // a vector is one row of k codes
	xq, wq := generic[T](rec).gradCodes(rec, x, xs, w, ws, own, threads)
	wb := wq.bytes
	if inOut {
		sc.wT = grow(sc.wT, len(wb))
		transposeBytes(sc.wT, wb, k, n)
		wb = sc.wT
	}
	q := rec.tableQuant(&sc.quant)
	dy32, r32 := as32(dy, &sc.dy32), out32(r, &sc.r32)
	mask := xq.mask
	if wrt == 0 {
		err = tablegrad.GEMMData(r32, dy32, xq.bytes, wb, m, n, k, t, q, threads, &sc.ws)
	} else {
		mask = wq.mask
		err = tablegrad.GEMMWeight(r32, dy32, xq.bytes, wb, m, n, k, inOut, t, q, threads, &sc.ws)
	}
	if err != nil {
		return fmt.Errorf("ops: layer %q: %w", s.ID, err)
	}
	store32(r, r32)
	applyMaskG(r, mask, threads)
	return nil
}

// convTableBackwardG is convTableBackward on the generic code (float64).
func convTableBackwardG[T values.Float](s *LayerState, rec *runRecord, wrt int, r, x, w, dy []T, g geom.Conv, own *[2]operandG[T], sc *tableScratch) error {
	t, err := s.tablesFor(rec)
	if err != nil {
		return err
	}
	threads := s.threads()
	xq, wq := generic[T](rec).gradCodes(rec, x, xShape(g), w, wShape(g), own, threads)
	q := rec.tableQuant(&sc.quant)
	dy32, r32 := as32(dy, &sc.dy32), out32(r, &sc.r32)
	mask := xq.mask
	if wrt == 0 {
		err = tablegrad.Conv2dData(r32, dy32, xq.bytes, wq.bytes, g, t, q, threads, &sc.ws)
	} else {
		mask = wq.mask
		err = tablegrad.Conv2dWeight(r32, dy32, xq.bytes, wq.bytes, g, t, q, threads, &sc.ws)
	}
	if err != nil {
		return fmt.Errorf("ops: layer %q: %w", s.ID, err)
	}
	store32(r, r32)
	applyMaskG(r, mask, threads)
	return nil
}

// fusedGrads holds both table gradients of a linear node, computed in one
// pass (tablegrad.GEMMBoth, cheaper than the two separate products) by
// whichever of its two gradient ops runs first, for the other. The ofDY,
// ofX and ofW pointers identify the inputs they were computed from; every
// forward run clears them, so a step never reads the previous step's.
type fusedGrads struct {
	// nodes are the gradient ops' nodes, set by SymDiff: only then is it
	// known that the other op exists and whether its result is used.
	nodes          [2]*gorgonia.Node
	ofDY, ofX, ofW *float32
	dx, dw         []float32 // before masking
}

func (f *fusedGrads) forget() { f.ofDY, f.ofX, f.ofW = nil, nil, nil }

// wanted reports whether the gradient op wrt should take its result from a
// fused pass: both ops exist and the other one's result is used.
func (f *fusedGrads) wanted(wrt int) bool {
	return f.nodes[0] != nil && f.nodes[1] != nil && gradNeeded(f.nodes[1-wrt])
}

// holds reports whether the fused results were computed from these inputs.
func (f *fusedGrads) holds(dy, x, w []float32) bool {
	return f.ofDY == &dy[0] && f.ofX == &x[0] && f.ofW == &w[0]
}

// result returns the fused gradient with respect to input wrt.
func (f *fusedGrads) result(wrt int) []float32 {
	if wrt == 0 {
		return f.dx
	}
	return f.dw
}
