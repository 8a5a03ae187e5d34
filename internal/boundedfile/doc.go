// Package boundedfile reads files a user names, refusing before reading a
// byte any that is larger than what it should hold (a wrong path to a disk
// image or a sparse file costs neither time nor memory) and reading the
// rest through a limit, so a file that grows while it is read is refused
// too. ReadJSON decodes such a file, refusing fields of another kind of
// file.
package boundedfile
