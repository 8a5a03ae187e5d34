package graph

import "testing"

// BenchmarkRewriteCNN measures the cost of rewriting the test CNN (graph
// copy, pattern matching and layer construction), not of running it.
func BenchmarkRewriteCNN(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m := buildCNN(b)
		b.StartTimer()
		if _, err := Rewrite(m.g, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
