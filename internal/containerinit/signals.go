package containerinit

import (
	"os"
	"syscall"
	"unsafe"
)

// kernelSigaction is the kernel's struct sigaction (x86-64 and arm64 alike).
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const sigIgn = 1 // SIG_IGN

// ignoreSignals sets sigs to SIG_IGN behind the Go runtime's back, so that
// they never reach init. signal.Ignore would do the same, but the program
// would inherit the ignored signals; signal.Notify would start a thread (up
// to a millisecond on every container start). The runtime still believes it
// handles these signals, so the child it forks resets them to their default
// action before exec (syscall's runtime_AfterForkInChild clears every
// handler it installed): the program starts with default dispositions, as
// TestSignalsReachProgram checks.
func ignoreSignals(sigs []os.Signal) error {
	act := kernelSigaction{handler: sigIgn}
	for _, s := range sigs {
		_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s.(syscall.Signal)),
			uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
		if errno != 0 {
			return errno
		}
	}
	return nil
}
