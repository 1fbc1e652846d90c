//go:build !pcocc_launcher

package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/importer"
)

// fileID is what identifies the bytes of a file without reading them: any
// write changes its ctime (which no user can set back, unlike the mtime),
// a replaced file has another inode.
type fileID struct {
	Dev, Ino, Size      uint64
	MtimeSec, MtimeNsec int64
	CtimeSec, CtimeNsec int64
	Digest              digest.Digest `json:",omitempty"`
}

func idOf(f *os.File) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fileID{}, fmt.Errorf("%s is not a regular file", f.Name())
	}
	return fileID{Dev: st.Dev, Ino: st.Ino, Size: uint64(st.Size),
		MtimeSec: st.Mtim.Sec, MtimeNsec: st.Mtim.Nsec, CtimeSec: st.Ctim.Sec, CtimeNsec: st.Ctim.Nsec}, nil
}

// digestMemo remembers the digests of files in dir.
type digestMemo struct {
	dir string
	// racyWindow: a file changed this recently is not remembered.
	// Timestamps advance by clock ticks, so a rewrite of the same size
	// within the tick of the hashed version would keep its identity (git's
	// "racy clean" problem).
	racyWindow time.Duration
}

func newDigestMemo(dir string) digestMemo { return digestMemo{dir: dir, racyWindow: 2 * time.Second} }

// fileDigest returns the sha256 digest of the file at path. It is read once:
// the digest is remembered with the file's identity and reused while the
// identity matches. A file changed while it is read is not remembered.
func (dm digestMemo) fileDigest(ctx context.Context, path string) (digest.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	before, err := idOf(f)
	if err != nil {
		return "", err
	}
	abs, _ := filepath.Abs(path)
	key := sha256.Sum256([]byte(abs))
	memo := filepath.Join(dm.dir, hex.EncodeToString(key[:16]))
	if m, err := readMemo(memo); err == nil && m.Digest != "" {
		d := m.Digest
		m.Digest = ""
		if m == before {
			return d, nil
		}
	}
	d, err := digest.FromReader(importer.ContextReader(ctx, f))
	if err != nil {
		return "", err
	}
	if after, err := idOf(f); err == nil && after == before && !dm.racy(after) {
		after.Digest = d
		writeMemo(memo, after) // best effort: without it, the next run reads the file again
	}
	return d, nil
}

func (dm digestMemo) racy(id fileID) bool {
	return time.Since(time.Unix(id.CtimeSec, id.CtimeNsec)) < dm.racyWindow
}

func readMemo(p string) (fileID, error) {
	var m fileID
	data, err := os.ReadFile(p)
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	return m, err
}

// writeMemo replaces the memo atomically: a concurrent reader sees the old
// one or the new one.
func writeMemo(p string, m fileID) {
	data, _ := json.Marshal(m)
	tmp, err := os.CreateTemp(filepath.Dir(p), ".memo-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil && cerr == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}
