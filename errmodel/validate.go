package errmodel

import (
	"errors"
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/goapprox/goapprox/lut"
	"github.com/goapprox/goapprox/ops"
	"github.com/goapprox/goapprox/ops/geom"
	"github.com/goapprox/goapprox/quantize"
)

// Case is one layer on given data for Validate: a Linear op (Conv == false)
// with x (batch, in) and w in the given layout, or a Conv2d op with x (N, C,
// H, W) and w (O, C/groups, KH, KW).
type Case struct {
	Name             string
	X                []float32
	XShape           []int
	W                []float32
	WShape           []int
	Conv             bool
	Layout           ops.WeightLayout // linear only
	Args             ops.ConvArgs     // conv only
	XParams, WParams quantize.Params
	Table            *lut.Table
	// MaxFields bounds the receptive fields sampled for the population
	// models (0: all); Seed seeds the sampling.
	MaxFields int
	Seed      int64
}

// Agreement is the measured output error of a Case and each model's
// prediction of it.
type Agreement struct {
	Name  string `json:"name"`
	Table string `json:"table"`
	FanIn int    `json:"fan_in"`
	// Outputs is the number of outputs the error was measured over.
	Outputs int `json:"outputs"`
	// OutputStd is the unbiased std of the Quantized output (what Noise mode
	// scales sigma by).
	OutputStd float64 `json:"output_std"`
	// Measured is the mean and (population) std of y_approx − y_quant over
	// all outputs; MeasuredPerChannel per output channel.
	Measured           Moments   `json:"measured"`
	MeasuredPerChannel []Moments `json:"measured_per_channel"`
	Predictions        []Prediction
}

// StdRatio returns predicted / measured std of model m's prediction over
// all outputs (NaN if m was not predicted, +Inf if nothing was measured).
func (a Agreement) StdRatio(m Model) float64 {
	for _, p := range a.Predictions {
		if p.Model == m {
			return p.Output.Std / a.Measured.Std
		}
	}
	return math.NaN()
}

// MeanDiff returns predicted − measured mean of model m over all outputs,
// relative to the measured std (NaN if m was not predicted).
func (a Agreement) MeanDiff(m Model) float64 {
	for _, p := range a.Predictions {
		if p.Model == m {
			return (p.Output.Mean - a.Measured.Mean) / a.Measured.Std
		}
	}
	return math.NaN()
}

// Validate runs the Case's op once in Quantized and once in Approximate
// mode (one compiled graph, the mode switched between runs), measures the
// difference of the outputs, and predicts it with every model: the layer's
// recorded activation histogram, the exact weight codes per channel, and
// sampled receptive fields.
func Validate(c Case) (Agreement, error) {
	if c.Table == nil {
		return Agreement{}, errors.New("errmodel: case has no table")
	}
	s := ops.NewLayerState("errmodel", 1)
	s.XParams, s.WParams = c.XParams.Clone(), c.WParams.Clone()
	if err := s.SetTable(c.Table); err != nil {
		return Agreement{}, err
	}
	s.RecordHistograms = true

	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(c.XShape...), tensor.WithBacking(append([]float32(nil), c.X...))), gorgonia.WithName("x"))
	wn := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(c.WShape...), tensor.WithBacking(append([]float32(nil), c.W...))), gorgonia.WithName("w"))
	var (
		out *gorgonia.Node
		err error
	)
	if c.Conv {
		out, err = ops.Conv2d(xn, wn, s, c.Args)
	} else {
		out, err = ops.Linear(xn, wn, s, c.Layout)
	}
	if err != nil {
		return Agreement{}, err
	}
	var yv gorgonia.Value
	gorgonia.Read(out, &yv)
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	run := func(mode ops.Mode) ([]float32, error) {
		s.Mode = mode
		m.Reset()
		if err := m.RunAll(); err != nil {
			return nil, err
		}
		return append([]float32(nil), yv.Data().([]float32)...), nil
	}
	yq, err := run(ops.Quantized)
	if err != nil {
		return Agreement{}, err
	}
	xHist := countsOf(s.XHist) // the Quantized run's activations
	ya, err := run(ops.Approximate)
	if err != nil {
		return Agreement{}, err
	}

	l, channelOf, err := c.layer(xHist)
	if err != nil {
		return Agreement{}, err
	}
	a := Agreement{Name: c.Name, Table: c.Table.Name(), FanIn: l.FanIn, Outputs: len(yq), OutputStd: Std(yq)}
	a.Measured, a.MeasuredPerChannel = measure(ya, yq, len(l.WChannels), channelOf)
	for _, model := range Models() {
		p, err := Predict(l, model)
		if err != nil {
			return Agreement{}, fmt.Errorf("errmodel: %s model: %w", model, err)
		}
		a.Predictions = append(a.Predictions, p)
	}
	return a, nil
}

// layer builds the model's view of the Case: exact weight codes per
// channel and sampled fields, plus the output-channel index of each output.
func (c *Case) layer(xHist []float64) (Layer, func(i int) int, error) {
	xCodes := make([]int32, len(c.X))
	c.XParams.Codes(xCodes, c.X, c.XShape)
	wCodes := make([]int32, len(c.W))
	c.WParams.Codes(wCodes, c.W, c.WShape)
	l := Layer{Table: c.Table, XParams: c.XParams, WParams: c.WParams, XHist: xHist}
	var err error
	var channelOf func(int) int
	if c.Conv {
		if len(c.XShape) != 4 || len(c.WShape) != 4 {
			return Layer{}, nil, fmt.Errorf("errmodel: conv needs 4-D x and w, got %v and %v", c.XShape, c.WShape)
		}
		geom := geom.Conv{
			N: c.XShape[0], C: c.XShape[1], H: c.XShape[2], W: c.XShape[3],
			O: c.WShape[0], KH: c.WShape[2], KW: c.WShape[3],
			StrideH: max(c.Args.Stride[0], 1), StrideW: max(c.Args.Stride[1], 1),
			PadH: c.Args.Pad[0], PadW: c.Args.Pad[1],
			DilH: max(c.Args.Dilation[0], 1), DilW: max(c.Args.Dilation[1], 1),
			Groups: max(c.Args.Groups, 1),
		}
		l.FanIn, l.Groups = geom.FanIn(), geom.Groups
		if l.WChannels, err = ChannelHists(wCodes, c.WShape, 0); err != nil {
			return Layer{}, nil, err
		}
		if l.Fields, err = ConvFields(xCodes, geom, c.XParams.ZeroPoint[0], c.MaxFields, c.Seed); err != nil {
			return Layer{}, nil, err
		}
		plane := geom.OutH() * geom.OutW()
		channelOf = func(i int) int { return i / plane % geom.O }
	} else {
		if len(c.XShape) != 2 || len(c.WShape) != 2 {
			return Layer{}, nil, fmt.Errorf("errmodel: linear needs 2-D x and w, got %v and %v", c.XShape, c.WShape)
		}
		axis := 0
		if c.Layout != ops.OutIn {
			axis = 1
		}
		out := c.WShape[axis]
		l.FanIn = c.XShape[1]
		if l.WChannels, err = ChannelHists(wCodes, c.WShape, axis); err != nil {
			return Layer{}, nil, err
		}
		if l.Fields, err = LinearFields(xCodes, c.XShape[0], c.XShape[1], c.MaxFields, c.Seed); err != nil {
			return Layer{}, nil, err
		}
		channelOf = func(i int) int { return i % out }
	}
	return l, channelOf, nil
}

// measure returns the mean and population std of ya − yq over all outputs
// and per channel.
func measure(ya, yq []float32, channels int, channelOf func(int) int) (Moments, []Moments) {
	type acc struct{ n, sum, sumSq float64 }
	var all acc
	per := make([]acc, channels)
	for i := range ya {
		d := float64(ya[i]) - float64(yq[i])
		all.n, all.sum, all.sumSq = all.n+1, all.sum+d, all.sumSq+d*d
		p := &per[channelOf(i)]
		p.n, p.sum, p.sumSq = p.n+1, p.sum+d, p.sumSq+d*d
	}
	mom := func(a acc) Moments {
		if a.n == 0 {
			return Moments{}
		}
		mean := a.sum / a.n
		return Moments{Mean: mean, Std: math.Sqrt(math.Max(0, a.sumSq/a.n-mean*mean))}
	}
	out := make([]Moments, channels)
	for o := range per {
		out[o] = mom(per[o])
	}
	return mom(all), out
}
