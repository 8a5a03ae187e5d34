// Package f32 provides float32 vector routines, each in assembly where the CPU and internal/asm allow it and as a pure-Go twin otherwise.
package f32
