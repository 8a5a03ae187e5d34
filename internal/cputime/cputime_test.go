package cputime

import "testing"

func TestProcessGrowsWithWork(t *testing.T) {
	start := Process()
	if start <= 0 {
		t.Skip("no process CPU time on this system")
	}
	x := 0
	for i := 0; i < 200_000_000; i++ {
		x += i ^ (x >> 3)
	}
	if x == 42 {
		t.Log(x) // keeps the loop
	}
	if Process() <= start {
		t.Fatalf("CPU time did not grow over a busy loop: %v then %v", start, Process())
	}
}
