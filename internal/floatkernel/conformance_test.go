package floatkernel

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/goapprox/goapprox/internal/asm"
	"github.com/goapprox/goapprox/ops/geom"
)

// The conformance suite: every path of the forward pass and of both
// gradients, forced one at a time wherever it applies (whatever the cost
// rules would pick), and the exported functions on gonum's BLAS and on
// another BLAS, must agree with the float64 definition on one table of
// shapes, give the same bits for 1, 2 and 3 threads, and give NaN, +Inf
// and -Inf exactly where the definition does when the inputs hold them.
// A path added to path and to convPaths is picked up without further work.

// convPath is one way to compute the three results.
type convPath struct {
	name string
	// forward, data and weight compute y, dx and dw; nil when the path
	// does not compute that result.
	forward, data, weight func(out, a, b []float32, g geom.Conv, threads int, ws *Workspace)
	// applies reports whether the path can compute g at all (kernels in
	// this build and CPU, structure); finiteW and finiteX whether it needs
	// finite weights or inputs (the production rules then pick another).
	applies func(g geom.Conv) bool
	finiteW bool // forward and data: the direct layout multiplies the weights by padding
	finiteX bool // weight: the wide layout multiplies inputs of neighbouring rows by zero
	// outsideWindow reports whether the path multiplies values outside a
	// tap's window on g (the depthwise phase planes' extra columns), so
	// that non-finite weights or inputs may reach results the definition
	// keeps finite; nil: never.
	outsideWindow func(geom.Conv) bool
}

// forced returns the functions that run path p with impl.
func forced(impl blas.Float32, p path) (forward, data, weight func(out, a, b []float32, g geom.Conv, threads int, ws *Workspace)) {
	forward = func(y, x, w []float32, g geom.Conv, threads int, ws *Workspace) {
		conv2dVia(p, impl, y, x, w, g, threads, ws)
	}
	data = func(dx, dy, w []float32, g geom.Conv, threads int, ws *Workspace) {
		backwardDataVia(p, impl, dx, dy, w, g, threads, ws)
	}
	weight = func(dw, dy, x []float32, g geom.Conv, threads int, ws *Workspace) {
		backwardWeightVia(p, impl, dw, dy, x, g, threads, ws)
	}
	return forward, data, weight
}

// exported returns the exported functions with impl.
func exported(impl blas.Float32) (forward, data, weight func(out, a, b []float32, g geom.Conv, threads int, ws *Workspace)) {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	forward = func(y, x, w []float32, g geom.Conv, threads int, ws *Workspace) {
		must(Conv2d(impl, y, x, w, g, threads, ws))
	}
	data = func(dx, dy, w []float32, g geom.Conv, threads int, ws *Workspace) {
		must(Conv2dBackwardData(impl, dx, dy, w, g, threads, ws))
	}
	weight = func(dw, dy, x []float32, g geom.Conv, threads int, ws *Workspace) {
		must(Conv2dBackwardWeight(impl, dw, dy, x, g, threads, ws))
	}
	return forward, data, weight
}

// blasOnly is gonum's BLAS under another type, which keeps the exported
// functions off their packed paths.
type blasOnly struct{ gonum.Implementation }

func convPaths() []convPath {
	impl := gonum.Implementation{}
	stride1 := func(g geom.Conv) bool { return g.StrideH == 1 && g.StrideW == 1 && !isDepthwise(g) }
	kernels := microKernel != nil && asm.AVX2FMA()
	var ps []convPath
	add := func(p convPath, id path, forward, data, weight bool) {
		f, d, w := forced(impl, id)
		if forward {
			p.forward = f
		}
		if data {
			p.data = d
		}
		if weight {
			p.weight = w
		}
		ps = append(ps, p)
	}
	f, d, w := exported(impl)
	ps = append(ps, convPath{name: "exported", forward: f, data: d, weight: w, outsideWindow: isDepthwise, applies: func(geom.Conv) bool { return true }})
	f, d, w = exported(blasOnly{})
	ps = append(ps, convPath{name: "exported-other-blas", forward: f, data: d, weight: w, outsideWindow: isDepthwise, applies: func(geom.Conv) bool { return true }})
	// The column-matrix paths compute every geometry, depthwise included.
	add(convPath{name: "blas", applies: func(geom.Conv) bool { return true }}, pathBLAS, true, true, true)
	add(convPath{name: "packed", applies: func(geom.Conv) bool { return kernels }}, pathPacked, true, true, true)
	add(convPath{name: "direct-forward", finiteW: true, applies: func(g geom.Conv) bool {
		_, ok := newForwardGeom(g)
		return kernels && offsKernel != nil && stride1(g) && ok
	}}, pathDirect, true, false, false)
	add(convPath{name: "direct-data", finiteW: true, applies: func(g geom.Conv) bool {
		_, ok := newDirectGeom(g)
		return kernels && offsKernel != nil && stride1(g) && ok
	}}, pathDirect, false, true, false)
	add(convPath{name: "phases", finiteW: true, applies: func(g geom.Conv) bool {
		return kernels && offsKernel != nil && g.StrideH == 2 && g.StrideW == 2 && !isDepthwise(g)
	}}, pathPhases, true, true, false)
	add(convPath{name: "winograd-forward", finiteW: true, applies: func(g geom.Conv) bool {
		_, _, ok := winogradGeom(g, 2)
		return kernels && ok
	}}, pathWinograd, true, false, false)
	add(convPath{name: "winograd-data", finiteW: true, applies: func(g geom.Conv) bool {
		_, _, ok := winogradGeom(g, 2)
		return kernels && ok
	}}, pathWinograd, false, true, false)
	add(convPath{name: "winograd4-forward", finiteW: true, applies: func(g geom.Conv) bool {
		_, _, ok := winogradGeom(g, 4)
		return kernels && ok
	}}, pathWinograd4, true, false, false)
	add(convPath{name: "winograd4-data", finiteW: true, applies: func(g geom.Conv) bool {
		_, _, ok := winogradGeom(g, 4)
		return kernels && ok
	}}, pathWinograd4, false, true, false)
	add(convPath{name: "winograd-weight", applies: func(g geom.Conv) bool {
		_, ok := newWinoWeightGeom(g, 2)
		return kernels && ok
	}}, pathWinograd, false, false, true)
	add(convPath{name: "winograd4-weight", applies: func(g geom.Conv) bool {
		_, ok := newWinoWeightGeom(g, 4)
		return kernels && ok
	}}, pathWinograd4, false, false, true)
	add(convPath{name: "taps", applies: func(g geom.Conv) bool {
		return kernels && tapKernel != nil && !isDepthwise(g) && g.StrideH <= 2 && g.StrideW <= 2
	}}, pathTaps, false, false, true)
	add(convPath{name: "wide", finiteX: true, applies: func(g geom.Conv) bool {
		return kernels && dotPtrsKernel != nil && stride1(g)
	}}, pathWide, false, false, true)
	add(convPath{name: "phased", outsideWindow: isDepthwise, applies: isDepthwise}, pathPhased, true, true, true)
	add(convPath{name: "fused-data", outsideWindow: isDepthwise, applies: func(g geom.Conv) bool {
		return isDepthwise(g) && phasedGeom(g).fusedRows(g)
	}}, pathFused, false, true, false)
	add(convPath{name: "fused-weight", outsideWindow: isDepthwise, applies: func(g geom.Conv) bool {
		return isDepthwise(g) && phasedGeom(g).fusedDots(g)
	}}, pathFused, false, false, true)
	return ps
}

// convShapes is the table every path runs on.
var convShapes = append(slices.Clone(geoms),
	// several output panels and channel tiles, taps not a multiple of the
	// tile, groups, padding narrower than the kernel, dilation
	geom.Conv{N: 3, C: 5, H: 5, W: 6, O: 34, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 2, C: 4, H: 7, W: 9, O: 20, KH: 3, KW: 2, StrideH: 1, StrideW: 1, PadH: 2, PadW: 1, DilH: 1, DilW: 2, Groups: 2},
	geom.Conv{N: 5, C: 6, H: 14, W: 14, O: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 3, C: 14, H: 5, W: 6, O: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 2, C: 4, H: 7, W: 9, O: 6, KH: 3, KW: 2, StrideH: 1, StrideW: 1, PadH: 2, PadW: 1, DilH: 1, DilW: 2, Groups: 2},
	geom.Conv{N: 2, C: 1, H: 11, W: 7, O: 6, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 3, C: 4, H: 5, W: 6, O: 14, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	// Winograd's shapes: odd sizes (partial tiles), channels not multiples
	// of the tiles, tile rows cut by the vector groups and by the blocks,
	// padding 0 to 2; the rules take the last two, and all three results
	// of the next
	geom.Conv{N: 3, C: 17, H: 7, W: 9, O: 19, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 4, C: 32, H: 21, W: 13, O: 41, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 4, C: 40, H: 6, W: 36, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 8, C: 16, H: 16, W: 16, O: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	// stride 2 by phases: a ResNet stage entry, kernels that miss some
	// phases (1×1, dilation 2), padding 0 (taps before the phase
	// position), odd sizes, a single row
	geom.Conv{N: 2, C: 16, H: 8, W: 8, O: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 3, C: 5, H: 7, W: 9, O: 7, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 2, C: 7, H: 6, W: 5, O: 9, KH: 1, KW: 1, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 2, C: 3, H: 9, W: 10, O: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 2, PadW: 1, DilH: 2, DilW: 1, Groups: 1},
	geom.Conv{N: 2, C: 4, H: 11, W: 8, O: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1},
	geom.Conv{N: 2, C: 3, H: 1, W: 5, O: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1},
	// depthwise on the fused kernels: stride 1 and 2, rows around the
	// kernels' block widths
	geom.Conv{N: 2, C: 3, H: 9, W: 4, O: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 3},
	geom.Conv{N: 2, C: 2, H: 7, W: 17, O: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 2},
	geom.Conv{N: 2, C: 3, H: 10, W: 8, O: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 3},
	geom.Conv{N: 1, C: 2, H: 9, W: 18, O: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 2},
)

// TestConvPathsConformance runs every path on every shape it applies to.
// Each path must be exercised by at least one shape: a path that no shape
// reaches is a gap in the table, not a pass.
func TestConvPathsConformance(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("asm=%v", on), func(t *testing.T) {
			defer asm.Set(asm.Set(on))
			for _, p := range convPaths() {
				t.Run(p.name, func(t *testing.T) { checkPath(t, p, on) })
			}
		})
	}
}

// shapeCase is one shape's operands and their float64 references, the
// same for every path: computed once (the references are the suite's
// dearest part) and kept for the run.
type shapeCase struct {
	x, w, dy, xBad, wBad, dyBad []float32
	y, dx, dw                   []float64
	yBadX, dxBadDy, dxBadW      []float64
	dwBadX                      []float64
}

var (
	shapeCasesMu sync.Mutex
	shapeCases   = map[int]*shapeCase{}
)

// caseFor returns the operands and references of convShapes[i]: random
// operands seeded by i, and copies with one to three non-finite values.
func caseFor(i int) *shapeCase {
	shapeCasesMu.Lock()
	defer shapeCasesMu.Unlock()
	if c, ok := shapeCases[i]; ok {
		return c
	}
	g := convShapes[i]
	r := rand.New(rand.NewSource(int64(1000 + i)))
	special := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	c := &shapeCase{x: randSlice(r, g.XLen()), w: randSlice(r, g.WLen()), dy: randSlice(r, g.YLen())}
	c.y = naiveConv(c.x, c.w, g)
	c.dx, c.dw = naiveGrads(c.x, c.w, c.dy, g)
	c.xBad, c.wBad, c.dyBad = slices.Clone(c.x), slices.Clone(c.w), slices.Clone(c.dy)
	for _, s := range [][]float32{c.xBad, c.wBad, c.dyBad} {
		for range 1 + r.Intn(3) {
			s[r.Intn(len(s))] = special[r.Intn(len(special))]
		}
	}
	c.yBadX = naiveConv(c.xBad, c.w, g)
	c.dxBadDy, _ = naiveGrads(c.x, c.w, c.dyBad, g)
	c.dxBadW, _ = naiveGrads(c.x, c.wBad, c.dy, g)
	_, c.dwBadX = naiveGrads(c.xBad, c.w, c.dy, g)
	shapeCases[i] = c
	return c
}

func checkPath(t *testing.T, p convPath, asmOn bool) {
	r := rand.New(rand.NewSource(1)) // garbage in the outputs
	ws := new(Workspace)             // shared by every call: leftovers must not leak
	ran := 0
	for i, g := range convShapes {
		if !p.applies(g) {
			continue
		}
		ran++
		c := caseFor(i)
		x, w, dy := c.x, c.w, c.dy
		wantY, wantDX, wantDW := c.y, c.dx, c.dw
		xBad, wBad, dyBad := c.xBad, c.wBad, c.dyBad
		var first [3][]float32
		for _, threads := range []int{1, 2, 3} {
			name := fmt.Sprintf("shape%d %+v threads%d", i, g, threads)
			run := func(k int, what string, f func(out, a, b []float32, g geom.Conv, threads int, ws *Workspace), n int, a, b []float32, want []float64) {
				t.Helper()
				out := randSlice(r, n) // garbage that must be overwritten
				f(out, a, b, g, threads, ws)
				assertClose(t, name+" "+what, out, want)
				if first[k] == nil {
					first[k] = out
				} else if sameBitsAt(out, first[k]) >= 0 {
					j := sameBitsAt(out, first[k])
					t.Fatalf("%s %s[%d] = %g, with 1 thread %g", name, what, j, out[j], first[k][j])
				}
			}
			if p.forward != nil {
				run(0, "y", p.forward, g.YLen(), x, w, wantY)
			}
			if p.data != nil {
				run(1, "dx", p.data, g.XLen(), dy, w, wantDX)
			}
			if p.weight != nil {
				run(2, "dw", p.weight, g.WLen(), dy, x, wantDW)
			}
			if threads == 2 {
				continue // the non-finite checks on 1 and 3 threads
			}
			// Non-finite inputs. A non-finite dy meets kernel taps in the
			// padding in dw: the column matrix multiplies it by the
			// padding's zeros, as PyTorch does, where the definition skips
			// the product; so dw is checked from a non-finite x only.
			nonFinite := func(what string, f func(out, a, b []float32, g geom.Conv, threads int, ws *Workspace), n int, a, b []float32, want []float64) {
				t.Helper()
				out := randSlice(r, n)
				f(out, a, b, g, threads, ws)
				assertSameClass(t, name+" "+what, out, want)
			}
			if p.forward != nil {
				// (Non-finite weights meet the padding's zeros in the
				// column matrix, as a dy does in dw.)
				nonFinite("y(x)", p.forward, g.YLen(), xBad, w, c.yBadX)
			}
			if p.data != nil {
				nonFinite("dx(dy)", p.data, g.XLen(), dyBad, w, c.dxBadDy)
				if !p.finiteW && !(p.outsideWindow != nil && p.outsideWindow(g)) {
					nonFinite("dx(w)", p.data, g.XLen(), dy, wBad, c.dxBadW)
				}
			}
			if p.weight != nil && !p.finiteX && !(p.outsideWindow != nil && p.outsideWindow(g)) {
				nonFinite("dw(x)", p.weight, g.WLen(), dy, xBad, c.dwBadX)
			}
		}
	}
	if ran == 0 && (asmOn || !needsAssembly(p.name)) && applicable(p) {
		t.Fatalf("no shape of the table exercises path %s", p.name)
	}
	t.Logf("%d shapes", ran)
	if ran == 0 {
		t.Skipf("path %s does not run in this build or with the assembly off", p.name)
	}
}

// needsAssembly reports whether a path runs only on the vector kernels.
func needsAssembly(name string) bool {
	switch name {
	case "exported", "exported-other-blas", "blas", "phased":
		return false
	}
	return true
}

// applicable reports whether the path could run in this build on this
// CPU with the assembly on.
func applicable(p convPath) bool {
	return !needsAssembly(p.name) || microKernel != nil && asm.AVX2FMA()
}

// sameBitsAt returns the first index where a and b differ in bits, or -1.
func sameBitsAt(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestPathRules checks that the exported functions take the path the
// rules name on shapes where each path is the expected pick, so that the
// rules cannot silently stop choosing a path the suite tests forced.
func TestPathRules(t *testing.T) {
	if microKernel == nil || !asm.AVX2FMA() {
		t.Skip("no packed kernels in this build or on this CPU")
	}
	impl := gonum.Implementation{}
	lenetConv2 := geom.Conv{N: 64, C: 6, H: 14, W: 14, O: 16, KH: 5, KW: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1}
	lenetConv1 := geom.Conv{N: 64, C: 1, H: 28, W: 28, O: 6, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1, Groups: 1}
	dw := geom.Conv{N: 8, C: 16, H: 28, W: 28, O: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 16}
	strided := geom.Conv{N: 2, C: 8, H: 9, W: 9, O: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	resnetEntry := geom.Conv{N: 128, C: 16, H: 32, W: 32, O: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	resnetS1 := geom.Conv{N: 32, C: 16, H: 32, W: 32, O: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	resnetS2 := geom.Conv{N: 32, C: 32, H: 16, W: 16, O: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	resnetS3 := geom.Conv{N: 32, C: 64, H: 8, W: 8, O: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	// Too few channels for the Winograd path's products to pay for its
	// transforms; and images so small that its products take many at once.
	few := geom.Conv{N: 32, C: 4, H: 32, W: 32, O: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	small := geom.Conv{N: 32, C: 64, H: 4, W: 4, O: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	finite := func(g geom.Conv, n int) []float32 { return make([]float32, n) }
	for _, c := range []struct {
		name string
		got  path
		want path
	}{
		{"strided forward", forwardPath(impl, strided, finite(strided, strided.WLen())), pathPhases},
		{"resnet stage entry forward", forwardPath(impl, resnetEntry, finite(resnetEntry, resnetEntry.WLen())), pathPhases},
		{"strided data", dataPath(impl, strided, finite(strided, strided.WLen())), pathPhases},
		{"resnet stage entry data", dataPath(impl, resnetEntry, finite(resnetEntry, resnetEntry.WLen())), pathPhases},
		{"strided weight, few outputs", weightPath(impl, strided, finite(strided, strided.XLen())), pathPacked},
		{"resnet stage entry weight", weightPath(impl, resnetEntry, nil), pathTaps},
		{"other BLAS", forwardPath(blasOnly{}, lenetConv2, finite(lenetConv2, lenetConv2.WLen())), pathBLAS},
		{"lenet conv2 weight", weightPath(impl, lenetConv2, finite(lenetConv2, lenetConv2.XLen())), pathTaps},
		{"lenet conv1 weight", weightPath(impl, lenetConv1, finite(lenetConv1, lenetConv1.XLen())), pathWide},
		{"lenet conv2 data", dataPath(impl, lenetConv2, finite(lenetConv2, lenetConv2.WLen())), pathDirect},
		{"lenet conv1 forward", forwardPath(impl, lenetConv1, finite(lenetConv1, lenetConv1.WLen())), pathDirect},
		{"resnet20 s1 forward", forwardPath(impl, resnetS1, finite(resnetS1, resnetS1.WLen())), pathWinograd4},
		{"resnet20 s1 data", dataPath(impl, resnetS1, finite(resnetS1, resnetS1.WLen())), pathWinograd4},
		{"resnet20 s2 forward", forwardPath(impl, resnetS2, finite(resnetS2, resnetS2.WLen())), pathWinograd},
		{"resnet20 s2 data", dataPath(impl, resnetS2, finite(resnetS2, resnetS2.WLen())), pathWinograd},
		{"resnet20 s3 forward", forwardPath(impl, resnetS3, finite(resnetS3, resnetS3.WLen())), pathWinograd},
		{"resnet20 s3 data", dataPath(impl, resnetS3, finite(resnetS3, resnetS3.WLen())), pathWinograd},
		{"resnet20 s1 weight", weightPath(impl, resnetS1, finite(resnetS1, resnetS1.XLen())), pathWinograd4},
		{"resnet20 s2 weight", weightPath(impl, resnetS2, finite(resnetS2, resnetS2.XLen())), pathWinograd},
		{"resnet20 s3 weight", weightPath(impl, resnetS3, finite(resnetS3, resnetS3.XLen())), pathWinograd},
		{"few channels weight", weightPath(impl, few, finite(few, few.XLen())), pathWide},
		{"few channels forward", forwardPath(impl, few, finite(few, few.WLen())), pathDirect},
		{"few channels data", dataPath(impl, few, finite(few, few.WLen())), pathDirect},
		{"small images forward", forwardPath(impl, small, finite(small, small.WLen())), pathWinograd},
		{"small images data", dataPath(impl, small, finite(small, small.WLen())), pathWinograd},
		{"depthwise forward", forwardPath(impl, dw, nil), pathPhased},
		{"depthwise data", dataPath(impl, dw, nil), pathFused},
		{"depthwise weight", weightPath(impl, dw, nil), pathFused},
	} {
		if c.got != c.want {
			t.Errorf("%s: path %d, want %d", c.name, c.got, c.want)
		}
	}
	// Non-finite operands move the forward and data gradient off the
	// direct layout and the weight gradient off the wide one.
	bad := make([]float32, lenetConv1.XLen())
	bad[7] = float32(math.NaN())
	if p := weightPath(impl, lenetConv1, bad); p != pathPacked {
		t.Errorf("weight gradient with a NaN input: path %d, want the dot kernel", p)
	}
	wBad := make([]float32, lenetConv2.WLen())
	wBad[3] = float32(math.Inf(1))
	if p := dataPath(impl, lenetConv2, wBad); p != pathPacked {
		t.Errorf("data gradient with an infinite weight: path %d, want packed", p)
	}
	wBad = make([]float32, strided.WLen())
	wBad[5] = float32(math.NaN())
	if p := dataPath(impl, strided, wBad); p != pathPacked {
		t.Errorf("stride-2 data gradient with a NaN weight: path %d, want packed", p)
	}
}

// assertSameClass checks that got is NaN, +Inf or -Inf exactly where want
// is, and close to want where want is finite.
func assertSameClass(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	class := func(v float64) string {
		switch {
		case math.IsNaN(v):
			return "NaN"
		case math.IsInf(v, 1):
			return "+Inf"
		case math.IsInf(v, -1):
			return "-Inf"
		}
		return "finite"
	}
	for i := range want {
		gc, wc := class(float64(got[i])), class(want[i])
		if gc != wc {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
		if wc == "finite" && math.Abs(float64(got[i])-want[i]) > 1e-4*math.Max(math.Abs(want[i]), 1) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}
