// Package runlock gives a process the exclusive use of a folder for as long
// as it works in it, so that two runs started with the same output folder
// cannot interleave their files: the second is refused with an error
// (*HeldError) naming the folder and the process (PID, host, start time)
// that holds it.
//
// Acquire locks the folder through a file in it (FileName) with flock(2);
// the file records the holder. The kernel drops the lock when the holding
// process ends, however it ends, so a lock left by a killed process never
// blocks the next run; Release removes the file after a clean end. On a
// file system without locks Acquire fails with ErrUnsupported, for the
// caller to decide whether to go on unprotected; on systems without flock
// (not Unix) it records the holder but does not exclude anyone.
package runlock
