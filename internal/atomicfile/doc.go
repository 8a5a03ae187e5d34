// Package atomicfile writes files so that a reader, or a run resumed after
// a crash, sees either the old content or the new one, never half of one:
// the data goes to a temporary file in the same directory, which is synced,
// renamed over the target, and the directory synced so the rename survives
// a power loss. Every checkpoint, report, table and plot GoApprox writes
// goes through it, because nothing a user made may be lost. A writer
// killed mid-write leaves its temporary file; a later write of the same
// target deletes such files once they are old enough not to belong to a
// live writer.
package atomicfile
