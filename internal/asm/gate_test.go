package asm

import "testing"

// TestSetTurnsEveryFeatureOff checks that the switch overrides every
// feature and that Set returns the previous setting.
func TestSetTurnsEveryFeatureOff(t *testing.T) {
	if !Enabled() {
		t.Fatal("assembly starts switched off")
	}
	if prev := Set(false); !prev {
		t.Fatal("Set(false) returned false as the previous setting")
	}
	defer Set(true)
	for name, f := range map[string]func() bool{"AVX": AVX, "AVX2": AVX2, "AVX2FMA": AVX2FMA,
		"AVX512BW": AVX512BW, "AVX512BWBMI2": AVX512BWBMI2, "AVX512VBMI": AVX512VBMI} {
		if f() {
			t.Errorf("%s is true with assembly switched off", name)
		}
	}
	if Enabled() {
		t.Error("Enabled is true after Set(false)")
	}
	if prev := Set(true); prev {
		t.Error("Set(true) returned true as the previous setting after Set(false)")
	}
	if AVX2FMA() != (features.avx2 && features.fma) {
		t.Error("AVX2FMA does not follow the CPU once switched back on")
	}
}
