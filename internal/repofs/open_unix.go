//go:build unix

package repofs

import "syscall"

// openFlags open a file without blocking: opening a named pipe for reading
// blocks until a writer comes, which in a checkout never does. O_NOFOLLOW
// makes sure the path opened is the one resolved, not a symlink put there
// since.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOFOLLOW
