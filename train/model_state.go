package train

import (
	"io"

	"github.com/goapprox/goapprox/approxlayer"
)

// approxlayerWrite writes the layers and the other learnables (biases,
// batch-norm scales and shifts) as an approxlayer checkpoint.
func approxlayerWrite(w io.Writer, t *Trainer) error {
	return approxlayer.Write(w, t.layers, t.extra...)
}

func approxlayerRead(r io.Reader, t *Trainer) error {
	return approxlayer.Read(r, t.layers, t.tables.resolve, t.extra...)
}
