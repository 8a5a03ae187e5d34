package kernel

import (
	"testing"

	"github.com/goapprox/goapprox/internal/asm"
)

// TestImplementationFollowsTheCPU checks that GEMM and Conv2d run the
// fastest kernel the CPU has, and the portable one when assembly is off
// through either switch: a kernel that is registered but never chosen would
// pass the conformance suite and still leave every user on the slow path.
func TestImplementationFollowsTheCPU(t *testing.T) {
	var tab [65536]int32
	for x := range 256 {
		for w := range 256 {
			tab[x<<8|w] = int32(x * w)
		}
	}
	p := Prepare(&tab)
	want := "go"
	switch {
	case asm.AVX512VBMI():
		want = "avx512vbmi"
	case asm.AVX2() && hasImpl("avx2"):
		want = "avx2"
	}
	if got := Implementation(p); got != want {
		t.Errorf("Implementation = %q on this CPU, want %q", got, want)
	}
	prev := SetAssembly(false)
	if got := Implementation(p); got != "go" {
		t.Errorf("with SetAssembly(false): %q, want go", got)
	}
	SetAssembly(prev)
	asmPrev := asm.Set(false)
	if got := Implementation(p); got != "go" {
		t.Errorf("with asm.Set(false): %q, want go", got)
	}
	asm.Set(asmPrev)
}

func hasImpl(name string) bool {
	for _, im := range impls {
		if im.name == name {
			return true
		}
	}
	return false
}
