package main

import "io"

func runSensitivity(args []string, stdout, stderr io.Writer) int { return 2 }
func runAssign(args []string, stdout, stderr io.Writer) int      { return 2 }
