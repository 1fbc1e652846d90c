package repo

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/filecopy"
)

func writeFileSync(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startWriteback asks the kernel to start writing f's dirty pages, without
// waiting: a later fsync then has little left to wait for.
func startWriteback(f *os.File) {
	_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}

func syncFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// linkOrCopy makes dst hold src's bytes: a hard link where possible (the
// files of a repository are never modified in place), else a copy.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return filecopy.New(src, dst)
}
