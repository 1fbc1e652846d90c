package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/testutil"

	"github.com/pcocc/pcocc/internal/sqfuse"
)

// Helper processes of the tests between users: the test binary run as
// another user, told what to do by the environment.
const (
	helperEnv = "PCOCC_TEST_UNPACK_HELPER" // swap:DIR, or run:IMAGE
	baseEnv   = "PCOCC_TEST_UNPACK_BASE"   // defaultBase
)

func TestMain(m *testing.M) {
	if b := os.Getenv(baseEnv); b != "" {
		defaultBase = b
	}
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(h))
	}
	os.Exit(m.Run())
}

func helper(h string) int {
	what, arg, _ := strings.Cut(h, ":")
	switch what {
	case "swap": // the attacker: exchange arg/victim and arg/evil in a loop
		// until its stdin, a pipe the test holds, closes (the test ended,
		// however it ended; killing runuser would not reach this process),
		// and at most 5 minutes.
		go func() {
			io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}()
		for end := time.Now().Add(5 * time.Minute); time.Now().Before(end); {
			_ = unix.Renameat2(unix.AT_FDCWD, filepath.Join(arg, "victim"), unix.AT_FDCWD, filepath.Join(arg, "evil"), unix.RENAME_EXCHANGE)
		}
		return 0
	case "run": // the victim: what pcocc run reads of its image's tree
		e, err := Ensure(context.Background(), arg, sqfuse.InProcess{})
		if err != nil {
			os.Stdout.WriteString("refused: " + err.Error() + "\n")
			return 0
		}
		defer e.Close()
		b, err := os.ReadFile(filepath.Join(e.Dir, "ro/f"))
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			return 0
		}
		os.Stdout.Write(append(b, '\n'))
		return 0
	case "cachedir":
		_, err := CacheDir()
		os.Stdout.WriteString(strings.TrimSpace("cachedir: "+errString(err)) + "\n")
		return 0
	case "userdir": // the launcher's configuration snapshots' directory
		_, err := UserDir(arg, true)
		os.Stdout.WriteString(strings.TrimSpace("userdir: "+errString(err)) + "\n")
		return 0
	}
	return 2
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// usersTest prepares a test between the users tester (the victim) and
// tester2 (the attacker): root only. It returns a directory that both can
// reach, the test binary copied there, and the two users' ids.
func usersTest(t *testing.T) (dir, bin string, victim, attacker int) {
	victim, attacker = testutil.UserID(t, testutil.Tester), testutil.UserID(t, testutil.Tester2)
	dir, bin = testutil.SharedTestBinary(t, "unpack.test")
	return dir, bin, victim, attacker
}

// as runs the helper h as user name, with env.
func as(name, bin, h string, env ...string) *exec.Cmd {
	return testutil.AsUser(name, append([]string{helperEnv + "=" + h}, env...), bin)
}

// TestSwapByOtherUser: a cache below a directory of another user (a shared
// scratch) is refused, so that the attacker swapping the victim's
// directory for theirs in a loop (RENAME_EXCHANGE) never gets their tree
// run as the victim's image.
func TestSwapByOtherUser(t *testing.T) {
	dir, bin, victim, attacker := usersTest(t)
	img := filepath.Join(dir, "img.sqfs")
	copyFile(t, image(t), img)
	os.Chmod(img, 0o644)
	key, _ := Key(img)
	scratch := filepath.Join(dir, "scratch") // the attacker's
	mkdirOwned(t, scratch, 0o755, attacker)
	mkdirOwned(t, filepath.Join(scratch, "victim"), 0o755, victim)
	// The attacker's look-alike cache, with the image's entry planted.
	evil := filepath.Join(scratch, "evil", "pcocc")
	planted := filepath.Join(evil, key, rootfsSubdir, "ro")
	if err := os.MkdirAll(planted, 0o777); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(planted, "f"), []byte("EVIL"), 0o644)
	os.WriteFile(filepath.Join(evil, key+lockSuffix), nil, 0o666)
	filepath.WalkDir(filepath.Join(scratch, "evil"), func(p string, d os.DirEntry, err error) error {
		os.Lchown(p, attacker, attacker)
		if d.IsDir() {
			os.Chmod(p, 0o777)
		}
		return nil
	})
	swap := as(testutil.Tester2, bin, "swap:"+scratch)
	stop, err := swap.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := swap.Start(); err != nil {
		t.Fatal(err)
	}
	defer swap.Wait()
	defer stop.Close()
	refused := 0
	for i := 0; i < 30; i++ {
		out, err := as(testutil.Tester, bin, "run:"+img, DirEnv+"="+filepath.Join(scratch, "victim", "pcocc")).CombinedOutput()
		got := strings.TrimSpace(string(out))
		switch {
		case err != nil:
			t.Fatalf("victim: %v: %s", err, out)
		case strings.Contains(got, "EVIL"):
			t.Fatalf("run %d read the attacker's file: %s", i, got)
		case strings.Contains(got, "refused: ") && strings.Contains(got, "belongs to uid "+strconv.Itoa(attacker)):
			refused++
		}
	}
	if refused != 30 {
		t.Errorf("%d runs of 30 refused the cache below the attacker's directory", refused)
	}
}

// TestDefaultCacheOfOtherUser: another user who made /var/tmp/pcocc-<uid>
// first gets nothing made in it (not even through a symbolic link), and the
// victim is told why.
func TestDefaultCacheOfOtherUser(t *testing.T) {
	dir, bin, victim, attacker := usersTest(t)
	base := filepath.Join(dir, "tmp")
	mkdirOwned(t, base, 0o1777, 0)
	trap := filepath.Join(base, "pcocc-"+strconv.Itoa(victim))
	mkdirOwned(t, trap, 0o777, attacker)
	elsewhere := filepath.Join(dir, "elsewhere")
	mkdirOwned(t, elsewhere, 0o777, attacker)
	for _, link := range []bool{false, true} {
		if link {
			os.Symlink(elsewhere, filepath.Join(trap, "unpacked"))
		}
		out, err := as(testutil.Tester, bin, "cachedir:", baseEnv+"="+base).CombinedOutput()
		if err != nil || !strings.Contains(string(out), trap+" belongs to uid "+strconv.Itoa(attacker)) {
			t.Errorf("cache in another's directory: %v: %s", err, out)
		}
		if link {
			os.Symlink(elsewhere, filepath.Join(trap, "config"))
		}
		out, err = as(testutil.Tester, bin, "userdir:config", baseEnv+"="+base).CombinedOutput()
		if err != nil || !strings.Contains(string(out), trap+" belongs to uid "+strconv.Itoa(attacker)) {
			t.Errorf("configuration snapshots in another's directory: %v: %s", err, out)
		}
		for _, d := range []string{trap, elsewhere} {
			ents, _ := os.ReadDir(d)
			for _, e := range ents {
				if fi, err := os.Lstat(filepath.Join(d, e.Name())); err == nil && fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("made %s in the attacker's %s", e.Name(), d)
				}
			}
		}
	}
}

func mkdirOwned(t *testing.T, dir string, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode&os.ModePerm|map[bool]os.FileMode{true: os.ModeSticky}[mode&0o1000 != 0]); err != nil {
		t.Fatal(err)
	}
}

// TestParentsChecked: directories above the cache that others could write
// to must be sticky; symbolic links of the user's are followed.
func TestParentsChecked(t *testing.T) {
	base := t.TempDir()
	shared := filepath.Join(base, "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o777)
	t.Setenv(DirEnv, filepath.Join(shared, "me", "cache"))
	if _, err := CacheDir(); err == nil || !strings.Contains(err.Error(), shared+" is writable by others and not sticky") {
		t.Errorf("below a world-writable directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(shared, "me")); !os.IsNotExist(err) {
		t.Errorf("made something in it: %v", err)
	}
	os.Chmod(shared, 0o777|os.ModeSticky)
	if d, err := CacheDir(); err != nil || d != filepath.Join(shared, "me", "cache") {
		t.Errorf("below a sticky directory: %q, %v", d, err)
	}
	// Through a symbolic link of the user's: followed, and the entry's path
	// has none (the container's init follows none).
	os.Symlink("shared/me", filepath.Join(base, "link"))
	t.Setenv(DirEnv, filepath.Join(base, "link", "cache"))
	if d, err := CacheDir(); err != nil || d != filepath.Join(shared, "me", "cache") {
		t.Errorf("through a symbolic link of mine: %q, %v", d, err)
	}
	e, err := Ensure(context.Background(), image(t), sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !strings.HasPrefix(e.Dir, filepath.Join(shared, "me", "cache")+"/") {
		t.Errorf("entry %s: not under the real path", e.Dir)
	}
}

// corrupt makes an image whose data blocks are garbage.
func corrupt(t *testing.T) string {
	p := sqfsImage(t, func(tw *tar.Writer) {
		addFile(tw, "f", 0o644, bytes.Repeat([]byte("some text that compresses. "), 20000))
	})
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte{0xa5}, 200), 100) // the first data block
	f.Close()
	return p
}

// TestFailureRemembered: an image that cannot be unpacked leaves no lock
// file nor temporary directory, and the next run gets the same error at
// once instead of unpacking it again, until the image changes.
func TestFailureRemembered(t *testing.T) {
	img := corrupt(t)
	cache := cacheIn(t)
	_, err := Ensure(context.Background(), img, sqfuse.InProcess{})
	if err == nil {
		t.Fatal("a corrupt image was unpacked")
	}
	key, _ := Key(img)
	ents, _ := os.ReadDir(cache)
	if len(ents) != 1 || ents[0].Name() != key+failedSuffix {
		t.Errorf("cache after a failed unpack: %v, want only %s", ents, key+failedSuffix)
	}
	start := time.Now()
	_, err2 := Ensure(context.Background(), img, sqfuse.InProcess{})
	var r *remembered
	if !errors.As(err2, &r) || !strings.Contains(err2.Error(), err.Error()) || !strings.Contains(err2.Error(), "earlier run") {
		t.Errorf("second run: %v (first: %v)", err2, err)
	}
	t.Logf("remembered in %v", time.Since(start))
	// The image replaced by a good one: unpacked, the old failure pruned.
	copyFile(t, image(t), img)
	e, err := Ensure(context.Background(), img, sqfuse.InProcess{})
	if err != nil {
		t.Fatalf("the repaired image: %v", err)
	}
	e.Close()
	if _, err := os.Lstat(filepath.Join(cache, key+failedSuffix)); !os.IsNotExist(err) {
		t.Errorf("the old failure is still there: %v", err)
	}
}
