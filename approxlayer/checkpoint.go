package approxlayer

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/goapprox/goapprox/internal/atomicfile"
	"github.com/goapprox/goapprox/internal/ckptfile"
	"github.com/goapprox/goapprox/internal/f32bytes"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/quantize"
)

// A checkpoint file is three lines of text:
//
//	goapprox-checkpoint 1
//	sha256 <hex digest of the payload>
//	<payload: one JSON document>
//
// The digest makes a truncated or corrupted file a clear error rather than
// a model that loads with wrong numbers. Tensors are stored as base64 of
// their little-endian float32 bits, or, for float64 nodes, of their float64
// bits with "dtype": "float64" in the record (a record without dtype is
// float32, as in every file written before), so that values (NaN payloads
// included) come back bit for bit. A float32 record also loads into a
// float64 node (exactly); a float64 record does not load into a float32
// node.
const (
	checkpointMagic   = "goapprox-checkpoint"
	checkpointVersion = 1
)

// maxCheckpointSize bounds what Read accepts (a corrupt header must not
// make it allocate without limit).
const maxCheckpointSize = 1 << 31

// TableResolver returns the multiplier table a checkpoint names. Load
// checks its fingerprint against the one saved.
type TableResolver func(name string) (*lut.Table, error)

type checkpoint struct {
	Layers []layerRecord  `json:"layers"`
	Params []tensorRecord `json:"params"`
}

type layerRecord struct {
	Name       string       `json:"name"`
	Kind       Kind         `json:"kind"`
	Mode       string       `json:"mode"`
	Training   bool         `json:"training"`
	NoiseSigma float64      `json:"noise_sigma"`
	NoiseMu    float64      `json:"noise_mu"`
	Table      *tableRecord `json:"table,omitempty"`
	// Surrogate holds the Surrogate mode settings; absent (as in files
	// written before the mode existed) means the zero settings.
	Surrogate *surrogateRecord `json:"surrogate,omitempty"`
	// Gradient is the backward pass as ops.ParseGradient reads it; absent
	// (straight-through layers, and files written before the option
	// existed) means straight-through.
	Gradient string          `json:"gradient,omitempty"`
	XParams  quantize.Params `json:"x_params"`
	WParams  quantize.Params `json:"w_params"`
	// XObserver and WObserver are the observers' own states (null for a
	// layer whose parameters were fixed with SetQuantParams).
	XObserver json.RawMessage `json:"x_observer"`
	WObserver json.RawMessage `json:"w_observer"`
	Weight    tensorRecord    `json:"weight"`
	Bias      *tensorRecord   `json:"bias,omitempty"`
}

type tableRecord struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
}

// surrogateRecord is ops.SurrogateSettings; the histograms a weighted fit
// used are stored so that the loaded model fits the very same surrogate.
type surrogateRecord struct {
	Rank     int         `json:"rank"`
	Fidelity float64     `json:"fidelity,omitempty"`
	Weighted bool        `json:"weighted,omitempty"`
	XHist    *[256]int64 `json:"x_hist,omitempty"`
	WHist    *[256]int64 `json:"w_hist,omitempty"`
}

func recordSurrogate(set ops.SurrogateSettings) *surrogateRecord {
	if set == (ops.SurrogateSettings{}) {
		return nil
	}
	rec := &surrogateRecord{Rank: set.Rank, Fidelity: set.Fidelity, Weighted: set.Weighted}
	if set.Weighted {
		rec.XHist, rec.WHist = &set.XHist, &set.WHist
	}
	return rec
}

func (rec *surrogateRecord) settings() (ops.SurrogateSettings, error) {
	var set ops.SurrogateSettings
	if rec == nil {
		return set, nil
	}
	set.Rank, set.Fidelity, set.Weighted = rec.Rank, rec.Fidelity, rec.Weighted
	if rec.Weighted {
		if rec.XHist == nil || rec.WHist == nil {
			return set, fmt.Errorf("the surrogate is histogram-weighted but its histograms are missing")
		}
		set.XHist, set.WHist = *rec.XHist, *rec.WHist
	}
	if err := set.Validate(); err != nil {
		return set, err
	}
	return set, nil
}

type tensorRecord struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Data  string `json:"data"` // base64 of little-endian float32 (or float64)
	// Dtype is "float64" for float64 tensors, empty for float32.
	Dtype string `json:"dtype,omitempty"`
}

// Save writes the state of the registry's layers and of the extra
// parameter nodes (biases and other learnables outside the layers,
// identified by name) to path. The file is written to a temporary file in
// the same directory, synced and renamed over path, so a crash never
// leaves half a checkpoint.
func Save(path string, r *Registry, params ...*G.Node) error {
	var buf bytes.Buffer
	if err := Write(&buf, r, params...); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// Load restores a checkpoint written by Save into a model built the same
// way (same layer names, kinds and shapes, same extra parameters). Tables
// are asked from resolve by name and must have the saved fingerprint.
// Nothing is changed unless the whole checkpoint is valid.
func Load(path string, r *Registry, resolve TableResolver, params ...*G.Node) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("approxlayer: %w", err)
	}
	defer f.Close()
	if err := Read(f, r, resolve, params...); err != nil {
		return fmt.Errorf("%w (file %s)", err, path)
	}
	return nil
}

// Write writes a checkpoint to w; see Save.
func Write(w io.Writer, r *Registry, params ...*G.Node) error {
	if r == nil {
		return fmt.Errorf("approxlayer: nil registry")
	}
	var cp checkpoint
	seen := make(map[string]bool)
	for _, l := range r.layers {
		rec, err := recordLayer(l)
		if err != nil {
			return err
		}
		cp.Layers = append(cp.Layers, rec)
		for _, n := range l.Learnables() {
			seen[n.Name()] = true
		}
	}
	for _, n := range params {
		if n == nil {
			return fmt.Errorf("approxlayer: nil parameter node")
		}
		if seen[n.Name()] {
			return fmt.Errorf("approxlayer: parameter %q is given twice (layer weights and biases are saved with their layers)", n.Name())
		}
		seen[n.Name()] = true
		rec, err := recordTensor(n)
		if err != nil {
			return err
		}
		cp.Params = append(cp.Params, rec)
	}
	if err := checkpointFormat.Write(w, cp); err != nil {
		return fmt.Errorf("approxlayer: %w", err)
	}
	return nil
}

func recordLayer(l *Layer) (layerRecord, error) {
	s := l.state
	rec := layerRecord{
		Name: l.name, Kind: l.kind, Mode: s.Mode.String(), Training: s.Training,
		NoiseSigma: s.NoiseSigma, NoiseMu: s.NoiseMu,
		XParams: s.XParams, WParams: s.WParams,
		Surrogate: recordSurrogate(s.Surrogate),
	}
	if s.Gradient != (ops.Gradient{}) {
		rec.Gradient = s.Gradient.String()
	}
	if s.Table != nil {
		rec.Table = &tableRecord{Name: s.Table.Name(), Fingerprint: s.Table.Fingerprint()}
	}
	var err error
	if rec.XObserver, err = observerState(s.XObserver); err != nil {
		return rec, fmt.Errorf("approxlayer: layer %q: activation observer: %w", l.name, err)
	}
	if rec.WObserver, err = observerState(s.WObserver); err != nil {
		return rec, fmt.Errorf("approxlayer: layer %q: weight observer: %w", l.name, err)
	}
	if rec.Weight, err = recordTensor(l.weight); err != nil {
		return rec, err
	}
	if l.bias != nil {
		b, err := recordTensor(l.bias)
		if err != nil {
			return rec, err
		}
		rec.Bias = &b
	}
	return rec, nil
}

func observerState(o quantize.Observer) (json.RawMessage, error) {
	if o == nil {
		return json.RawMessage("null"), nil
	}
	return o.State()
}

func recordTensor(n *G.Node) (tensorRecord, error) {
	if v, ok := n.Value().(tensor.Tensor); ok {
		if data, ok := v.Data().([]float64); ok {
			return tensorRecord{Name: n.Name(), Shape: n.Shape(), Dtype: "float64", Data: base64.StdEncoding.EncodeToString(encode64(data))}, nil
		}
	}
	data, err := float32s(n)
	if err != nil {
		return tensorRecord{}, err
	}
	return tensorRecord{Name: n.Name(), Shape: n.Shape(), Data: base64.StdEncoding.EncodeToString(f32bytes.Encode(data))}, nil
}

// encode64 returns the little-endian bytes of v.
func encode64(v []float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

// decode64 reads little-endian float64 values.
func decode64(b []byte) []float64 {
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v
}

// float32s returns the float32 values bound to a node.
func float32s(n *G.Node) ([]float32, error) {
	v, ok := n.Value().(tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("approxlayer: node %q has no tensor value to save", n.Name())
	}
	data, ok := v.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("approxlayer: node %q holds %v; checkpoints hold float32 and float64", n.Name(), v.Dtype())
	}
	return data, nil
}

// Read restores a checkpoint from rd; see Load.
func Read(rd io.Reader, r *Registry, resolve TableResolver, params ...*G.Node) error {
	if r == nil {
		return fmt.Errorf("approxlayer: nil registry")
	}
	cp, err := decodeCheckpoint(rd)
	if err != nil {
		return err
	}
	// Check and decode everything first, then apply: a bad checkpoint
	// leaves the model as it was.
	var apply []func() error
	if len(cp.Layers) != r.Len() {
		return fmt.Errorf("approxlayer: checkpoint has %d layers, the model %d (%v)", len(cp.Layers), r.Len(), r.Names())
	}
	for i, rec := range cp.Layers {
		l := r.layers[i]
		if rec.Name != l.name || rec.Kind != l.kind {
			return fmt.Errorf("approxlayer: checkpoint layer %d is %s %q, the model's is %s %q", i, rec.Kind, rec.Name, l.kind, l.name)
		}
		fn, err := prepareLayer(l, rec, resolve)
		if err != nil {
			return fmt.Errorf("approxlayer: checkpoint layer %q: %w", rec.Name, err)
		}
		apply = append(apply, fn)
	}
	if len(cp.Params) != len(params) {
		return fmt.Errorf("approxlayer: checkpoint has %d extra parameters, %d were given", len(cp.Params), len(params))
	}
	byName := make(map[string]tensorRecord)
	for _, p := range cp.Params {
		byName[p.Name] = p
	}
	for _, n := range params {
		if n == nil {
			return fmt.Errorf("approxlayer: nil parameter node")
		}
		rec, ok := byName[n.Name()]
		if !ok {
			return fmt.Errorf("approxlayer: the checkpoint has no parameter %q", n.Name())
		}
		fn, err := prepareTensor(n, rec)
		if err != nil {
			return err
		}
		apply = append(apply, fn)
		delete(byName, n.Name())
	}
	for _, fn := range apply {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// decodeCheckpoint reads the header, verifies the digest and decodes the
// payload.
func decodeCheckpoint(rd io.Reader) (*checkpoint, error) {
	var cp checkpoint
	if _, err := checkpointFormat.Decode(rd, &cp); err != nil {
		return nil, fmt.Errorf("approxlayer: %w", err)
	}
	return &cp, nil
}

var checkpointFormat = ckptfile.Format{Magic: checkpointMagic, Version: checkpointVersion, Name: "checkpoint", MaxSize: maxCheckpointSize}

// prepareLayer checks a layer record against the layer and returns the
// function that applies it.
func prepareLayer(l *Layer, rec layerRecord, resolve TableResolver) (func() error, error) {
	mode, err := ops.ParseMode(rec.Mode)
	if err != nil {
		return nil, err
	}
	var table *lut.Table
	if rec.Table != nil {
		if resolve == nil {
			return nil, fmt.Errorf("it uses table %q; pass a TableResolver that provides it", rec.Table.Name)
		}
		if table, err = resolve(rec.Table.Name); err != nil {
			return nil, fmt.Errorf("resolving table %q: %w", rec.Table.Name, err)
		}
		if table == nil {
			return nil, fmt.Errorf("the resolver returned no table for %q", rec.Table.Name)
		}
		if fp := table.Fingerprint(); fp != rec.Table.Fingerprint {
			return nil, fmt.Errorf("table %q has fingerprint %s, the checkpoint was saved with %s: a different multiplier under that name", rec.Table.Name, fp, rec.Table.Fingerprint)
		}
	} else if mode.NeedsTable() {
		return nil, fmt.Errorf("%v mode without a table", mode)
	}
	sur, err := rec.Surrogate.settings()
	if err != nil {
		return nil, fmt.Errorf("bad surrogate settings: %w", err)
	}
	grad, err := ops.ParseGradient(rec.Gradient)
	if err != nil {
		return nil, fmt.Errorf("bad gradient: %w", err)
	}
	if err := rec.XParams.Validate(); err != nil {
		return nil, fmt.Errorf("bad activation parameters: %w", err)
	}
	if rec.XParams.IsPerChannel() {
		return nil, fmt.Errorf("bad activation parameters: per channel (axis %d); activations are quantized per tensor", rec.XParams.Axis)
	}
	if err := rec.WParams.Validate(); err != nil {
		return nil, fmt.Errorf("bad weight parameters: %w", err)
	}
	if err := rec.WParams.CheckShape(l.weight.Shape()); err != nil {
		return nil, fmt.Errorf("bad weight parameters: %w", err)
	}
	if math.IsNaN(rec.NoiseSigma) || rec.NoiseSigma < 0 || math.IsInf(rec.NoiseSigma, 0) || math.IsNaN(rec.NoiseMu) || math.IsInf(rec.NoiseMu, 0) {
		return nil, fmt.Errorf("bad noise sigma %g or mu %g", rec.NoiseSigma, rec.NoiseMu)
	}
	xo, err := restoreObserver(rec.XObserver)
	if err != nil {
		return nil, fmt.Errorf("activation observer: %w", err)
	}
	wo, err := restoreObserver(rec.WObserver)
	if err != nil {
		return nil, fmt.Errorf("weight observer: %w", err)
	}
	setW, err := prepareTensor(l.weight, rec.Weight)
	if err != nil {
		return nil, err
	}
	setB := func() error { return nil }
	switch {
	case (rec.Bias == nil) != (l.bias == nil):
		return nil, fmt.Errorf("bias present in only one of the checkpoint and the model")
	case rec.Bias != nil:
		if setB, err = prepareTensor(l.bias, *rec.Bias); err != nil {
			return nil, err
		}
	}
	// The table must fit the saved code ranges (as SetTable checks).
	probe := ops.NewLayerState(l.name, 0)
	probe.XParams, probe.WParams = rec.XParams, rec.WParams
	if err := probe.SetTable(table); err != nil {
		return nil, err
	}
	return func() error {
		s := l.state
		s.Mode, s.Training = mode, rec.Training
		s.NoiseSigma, s.NoiseMu = rec.NoiseSigma, rec.NoiseMu
		s.XParams, s.WParams = rec.XParams.Clone(), rec.WParams.Clone()
		s.XObserver, s.WObserver = xo, wo
		s.Table = table
		s.Surrogate = sur
		s.Gradient = grad
		if err := setW(); err != nil {
			return err
		}
		return setB()
	}, nil
}

func restoreObserver(raw json.RawMessage) (quantize.Observer, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	return quantize.ObserverFromState(raw)
}

// prepareTensor decodes a tensor record for node n, checking name, shape
// and length, and returns the function that copies it into n's value.
func prepareTensor(n *G.Node, rec tensorRecord) (func() error, error) {
	if n.Dtype() == tensor.Float64 {
		return prepareTensor64(n, rec)
	}
	if n.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("approxlayer: node %q is %v; checkpoints hold float32 and float64", n.Name(), n.Dtype())
	}
	if rec.Dtype != "" {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q is %s, the model's node is float32: build the model in %s", rec.Name, rec.Dtype, rec.Dtype)
	}
	if rec.Name != n.Name() {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q where the model has %q", rec.Name, n.Name())
	}
	if !tensor.Shape(rec.Shape).Eq(n.Shape()) {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q has shape %v, the model's %v", rec.Name, rec.Shape, n.Shape())
	}
	raw, err := base64.StdEncoding.DecodeString(rec.Data)
	if err != nil {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q: %w", rec.Name, err)
	}
	if len(raw) != 4*n.Shape().TotalSize() {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q holds %d bytes for %d values", rec.Name, len(raw), n.Shape().TotalSize())
	}
	data, err := f32bytes.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q: %w", rec.Name, err)
	}
	// Copy into the existing value when there is one, so that machines and
	// solvers holding it see the restored numbers.
	if dst, err := float32s(n); err == nil && len(dst) == len(data) {
		return func() error { copy(dst, data); return nil }, nil
	}
	return func() error {
		v := tensor.New(tensor.WithShape(n.Shape()...), tensor.WithBacking(data))
		if err := G.Let(n, v); err != nil {
			return fmt.Errorf("approxlayer: restoring %q: %w", n.Name(), err)
		}
		return nil
	}, nil
}

// prepareTensor64 is prepareTensor for a float64 node, which takes float64
// records and, widened exactly, float32 ones.
func prepareTensor64(n *G.Node, rec tensorRecord) (func() error, error) {
	if rec.Dtype != "" && rec.Dtype != "float64" {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q has dtype %q; this build writes float32 (no dtype) and float64", rec.Name, rec.Dtype)
	}
	if rec.Name != n.Name() {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q where the model has %q", rec.Name, n.Name())
	}
	if !tensor.Shape(rec.Shape).Eq(n.Shape()) {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q has shape %v, the model's %v", rec.Name, rec.Shape, n.Shape())
	}
	raw, err := base64.StdEncoding.DecodeString(rec.Data)
	if err != nil {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q: %w", rec.Name, err)
	}
	size, count := 8, n.Shape().TotalSize()
	if rec.Dtype == "" {
		size = 4
	}
	if len(raw) != size*count {
		return nil, fmt.Errorf("approxlayer: checkpoint tensor %q holds %d bytes for %d values", rec.Name, len(raw), count)
	}
	var data []float64
	if size == 8 {
		data = decode64(raw)
	} else {
		d32, err := f32bytes.Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("approxlayer: checkpoint tensor %q: %w", rec.Name, err)
		}
		data = make([]float64, len(d32))
		for i, v := range d32 {
			data[i] = float64(v)
		}
	}
	if v, ok := n.Value().(tensor.Tensor); ok {
		if dst, ok := v.Data().([]float64); ok && len(dst) == len(data) {
			return func() error { copy(dst, data); return nil }, nil
		}
	}
	return func() error {
		v := tensor.New(tensor.WithShape(n.Shape()...), tensor.WithBacking(data))
		if err := G.Let(n, v); err != nil {
			return fmt.Errorf("approxlayer: restoring %q: %w", n.Name(), err)
		}
		return nil
	}, nil
}
