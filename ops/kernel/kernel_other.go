//go:build !amd64 || purego

package kernel

// splitBytesSIMD has no vector version here: splitBytes does all of it.
func splitBytesSIMD(even, odd, in []byte) int { return 0 }

func copyRows(dst []byte, dstPitch, dstImage int, src []byte, srcPitch, srcImage, rows, width, images int) {
	copyRowsGo(dst, dstPitch, dstImage, src, srcPitch, srcImage, rows, width, images)
}

func copyRuns(acc []int32, out *[maxLanes]int32, runs []run) { copyRunsGo(acc, out, runs) }

func storeRows(acc []int32, out *[maxLanes]int32, rows, y int, rg *rowGeom) {
	storeRowsGo(acc, out, rows, y, rg)
}
