package tablegrad

// Workspace is the working memory of one layer's gradient calls, kept
// between calls so that a training step allocates nothing for them: the
// transposed operands, the convolution's output gradient laid out
// position-major (as large as dy) and its weight-gradient sums per chunk of
// images. The zero value is ready to use. A Workspace serves one call at a
// time; a nil *Workspace makes the call take its memory from a pool shared
// by all calls.
type Workspace struct {
	gemm gemmJob
	conv convJob
}

func (ws *Workspace) gemmJob() *gemmJob {
	if ws == nil {
		return gemmJobs.Get().(*gemmJob)
	}
	return &ws.gemm
}

// doneGEMM drops the job's references to the caller's data and returns a
// pooled job to its pool.
func (ws *Workspace) doneGEMM(j *gemmJob) {
	j.t, j.out, j.dy, j.x, j.w, j.dw = nil, nil, nil, nil, nil, nil
	if ws == nil {
		gemmJobs.Put(j)
	}
}

func (ws *Workspace) convJob() *convJob {
	if ws == nil {
		return convJobs.Get().(*convJob)
	}
	return &ws.conv
}

func (ws *Workspace) doneConv(j *convJob) {
	j.t, j.out, j.dy, j.x, j.w = nil, nil, nil, nil, nil
	if ws == nil {
		convJobs.Put(j)
	}
}
