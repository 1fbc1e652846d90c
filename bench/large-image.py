"""bench/large-image.py COPIES: the tar stream of bench/large.sh's image, on stdout.

The image holds:
  /bin/true                 a static busybox: the start of a trivial program
  /usr/bin/python3          the host's Debian python3, its shared libraries
                            (and those of every extension module) and its
                            loader at the host's paths, and the host's
                            /usr/lib/python3* trees unchanged (their compiled
                            .pyc stay valid): a real library-loading start
  /lib/copyNNN/usr/lib/...  COPIES more copies of those trees, each file's
                            content made distinct per copy (a comment or
                            trailing bytes appended) so that no writer
                            deduplicates them: the bulk of a large image
  /dev /proc /sys /tmp ...  empty mount points, and empty /etc/passwd and
                            /etc/group, which ch-run binds files onto
COPIES=0 is the small image of the same layout (about 5,000 files).
Deterministic for a given host: names are sorted, times are the files'.
"""
import glob
import io
import os
import subprocess
import sys
import tarfile

PYTHON = "/usr/bin/python3"
TREES = sorted(glob.glob("/usr/lib/python3*"))


def walk(roots):
    """Every path under roots, parents first, sorted."""
    out = []
    for root in roots:
        out.append(root)
        for d, dirs, names in os.walk(root):
            dirs.sort()
            for n in sorted(dirs + names):
                out.append(os.path.join(d, n))
    return out


def shared_libraries(programs):
    """The loader's answer (ldd) for programs: the libraries they load."""
    libs = set()
    for p in programs:
        r = subprocess.run(["ldd", p], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            parts = line.split()
            if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
                libs.add(parts[2])
            elif parts and parts[0].startswith("/"):
                libs.add(parts[0])  # the loader itself
    return sorted(libs)


class Writer:
    def __init__(self, stream):
        self.tar = tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT)
        self.dirs = set()

    def parents(self, name):
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self.dir("/".join(parts[:i]))

    def dir(self, name, mode=0o755, mtime=0):
        if name in self.dirs:
            return
        self.parents(name)
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, mode, mtime
        self.tar.addfile(ti)
        self.dirs.add(name)

    def file(self, name, data, mode=0o644, mtime=0):
        self.parents(name)
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(data), mode, mtime
        self.tar.addfile(ti, io.BytesIO(data))

    def symlink(self, name, target, mtime=0):
        self.parents(name)
        ti = tarfile.TarInfo(name)
        ti.type, ti.linkname, ti.mtime = tarfile.SYMTYPE, target, mtime
        self.tar.addfile(ti)

    def copy(self, name, path, tag=b""):
        """path from the host as name, its content followed by tag."""
        st = os.lstat(path)
        mode, mtime = st.st_mode & 0o7777, int(st.st_mtime)
        if os.path.islink(path):
            self.symlink(name, os.readlink(path), mtime)
        elif os.path.isdir(path):
            self.dir(name, mode, mtime)
        elif os.path.isfile(path):
            with open(path, "rb") as f:
                self.file(name, f.read() + tag, mode, mtime)


def main():
    copies = int(sys.argv[1])
    w = Writer(sys.stdout.buffer)
    for d in ("dev", "proc", "sys", "tmp", "home", "run", "mnt", "var", "etc"):
        w.dir(d, 0o1777 if d == "tmp" else 0o755)
    w.file("etc/passwd", b"")
    w.file("etc/group", b"")
    with open("/bin/busybox", "rb") as f:
        w.file("bin/true", f.read(), 0o755)
    w.file("usr/bin/python3", open(os.path.realpath(PYTHON), "rb").read(), 0o755)
    files = walk(TREES)
    so = [p for p in files if p.endswith(".so") and os.path.isfile(p)]
    for lib in shared_libraries([PYTHON] + so):
        w.file(lib.lstrip("/"), open(os.path.realpath(lib), "rb").read(), 0o755)
    for p in files:
        w.copy(p.lstrip("/"), p)
    for c in range(copies):
        w.dir("lib/copy%03d" % c)
        for p in files:
            tag = b"\n# copy %d\n" % c if p.endswith(".py") else b"\0copy%d" % c
            w.copy("lib/copy%03d" % c + p, p, tag if os.path.isfile(p) else b"")
    w.tar.close()


if __name__ == "__main__":
    main()
