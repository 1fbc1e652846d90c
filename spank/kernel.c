/* The kernel mount of a step's image (docs/admin-guide.md, "Kernel
 * squashfs mounts"): the helper, as the user, opens and checks the image
 * and hands its descriptor over (`pcocc __spank image`, fd 3, SCM_RIGHTS);
 * root checks the descriptor again (kernel_take), then, in the child that
 * becomes the `start` helper, loop-mounts it in a mount namespace of its
 * own (kernel_stage). The helper's container is a copy of that namespace
 * made by the user's user namespace: the kernel locks the mount's
 * read-only, nosuid and nodev flags there, and the mount goes with the last
 * namespace that holds it (the helper's, its init's), the loop device with
 * it (autoclear), however the step ends. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pcocc_spank.h"

/* pcocc_kernel_dir is where the image is mounted, in the helper's mount
 * namespace only: an empty directory of root's in the host's. */
const char *const pcocc_kernel_dir = "/run/pcocc-kernel";

/* The plugstack's kernel= argument: off, on, or the directories whose
 * images may be mounted (absolute, ':' separated). */
int pcocc_kernel_mode = PCOCC_KERNEL_ON;
char *pcocc_kernel_dirs;

/* kernel_recv receives the descriptor the image helper sent: -1 and errno
 * EAGAIN when it sent none (the policy chose another mount), -1 and EPROTO
 * on anything else. Extra descriptors are closed. */
int pcocc_kernel_recv(int sock)
{
	char data[16];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { data, sizeof data };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	ssize_t r;
	while ((r = recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	int fd = -1, bad = r <= 0 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); r > 0 && c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
			if (fd < 0)
				fd = got;
			else {
				close(got);
				bad = 1;
			}
		}
	}
	if (r == 2 && memcmp(data, "no", 2) == 0 && fd < 0) {
		errno = EAGAIN;
		return -1;
	}
	if (bad || r != 6 || memcmp(data, "kernel", 6) != 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		errno = EPROTO;
		return -1;
	}
	return fd;
}

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* allowed: the file's path, as this process sees the descriptor, is under
 * one of the listed directories (and was not deleted). */
static int allowed(int fd)
{
	char link[64], path[4096];
	if (pcocc_kernel_mode == PCOCC_KERNEL_ON)
		return 1;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0 || n == (ssize_t)sizeof path - 1)
		return 0;
	path[n] = '\0';
	if (path[0] != '/' || strstr(path, " (deleted)"))
		return 0;
	for (const char *d = pcocc_kernel_dirs; d && *d;) {
		size_t len = strcspn(d, ":");
		if (len > 1 && (size_t)n > len && strncmp(path, d, len) == 0 &&
		    (d[len - 1] == '/' || path[len] == '/'))
			return 1;
		d += len + (d[len] == ':');
	}
	return 0;
}

/* pcocc_kernel_take checks, as root, the descriptor the helper sent: the
 * helper is the user's process, so this is all root trusts. A regular file
 * (no device, FIFO or socket) not on FUSE, in a listed directory when the site listed
 * some, that starts with a squashfs 4.0 super block whose size fits the
 * file. The full check of the tables is the helper's (pcocc's reader, in
 * Go): the user may rewrite a file of theirs at any time, so no check
 * binds the kernel's parser; restricting the directories does. 0, or -1
 * with a message in err. */
int pcocc_kernel_take(int fd, const char **err)
{
	struct stat st;
	unsigned char sb[96];
	struct statfs fs;
	/* A FUSE server (fusermount lets users mount one) would feed the loop
	 * device whatever it likes, whenever it likes, or stall the kernel's
	 * reads for ever. First: FUSE answers statfs with its magic even to
	 * the processes it refuses (slurmstepd, whose real uid is root). */
	if (fstatfs(fd, &fs) < 0 || fs.f_type == FUSE_SUPER_MAGIC) {
		*err = "the image is on a FUSE file system: the kernel mounts images of local or network file systems only";
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*err = "the image is not a regular file";
		return -1;
	}
	if (!allowed(fd)) {
		*err = "the site allows kernel mounts of images in other directories only (plugstack kernel=)";
		return -1;
	}
	if (pread(fd, sb, sizeof sb, 0) != (ssize_t)sizeof sb || le32(sb) != 0x73717368 ||
	    sb[28] != 4 || sb[29] != 0 || sb[30] != 0 || sb[31] != 0) {
		*err = "the image is not a squashfs 4.0 file";
		return -1;
	}
	uint64_t used = 0;
	for (int i = 7; i >= 0; i--)
		used = used << 8 | sb[40 + i];
	if (used < sizeof sb || used > (uint64_t)st.st_size) {
		*err = "the image is truncated";
		return -1;
	}
	return 0;
}

/* What follows runs in the forked child of slurmstepd: system calls only. */

static char *utoa(char *end, unsigned long v)
{
	*--end = '\0';
	do
		*--end = '0' + v % 10;
	while (v /= 10);
	return end;
}

static char *cat(char *dst, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	memcpy(dst, a, la);
	memcpy(dst + la, b, lb + 1);
	return dst;
}

/* attach_loop binds a free loop device to fd, read-only, cleared when its
 * last user goes. Another process may take the free device first. */
static int attach_loop(int fd, char *name)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	for (int i = 0; i < 10; i++) {
		char num[24];
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			break;
		cat(name, "/dev/loop", utoa(num + sizeof num, (unsigned long)n));
		int dev = open(name, O_RDONLY | O_CLOEXEC);
		if (dev < 0)
			break;
		struct loop_config cfg = { .fd = (uint32_t)fd };
		cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
		if (ioctl(dev, LOOP_CONFIGURE, &cfg) == 0) {
			close(ctl);
			return dev;
		}
		int err = errno;
		close(dev);
		errno = err;
		if (err != EBUSY)
			break;
	}
	int err = errno;
	close(ctl);
	errno = err;
	return -1;
}

static int write_map(pid_t pid, const char *file, unsigned long id)
{
	char path[64], num[24], line[64], p[24];
	cat(path, "/proc/", utoa(p + sizeof p, (unsigned long)pid));
	cat(path, path, file);
	cat(line, "0 ", utoa(num + sizeof num, id));
	cat(line, line, " 1\n");
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, line, strlen(line));
	close(fd);
	return w == (ssize_t)strlen(line) ? 0 : -1;
}

/* idmap_userns returns a user namespace that maps 0 to the job's user, as
 * the container's does: the image's files owned by root then belong to
 * the container's root (the user), as with FUSE. A child makes it and
 * waits; root writes its maps. */
static int idmap_userns(uid_t uid, gid_t gid)
{
	int ready[2], hold[2], ns = -1;
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(hold, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char c = 0;
		close(ready[0]);
		close(hold[1]);
		if (unshare(CLONE_NEWUSER) < 0 || write(ready[1], &c, 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	char c;
	int err = EPROTO;
	if (pid > 0 && read(ready[0], &c, 1) == 1) {
		char path[64], p[24];
		cat(path, "/proc/", utoa(p + sizeof p, (unsigned long)pid));
		cat(path, path, "/ns/user");
		if (write_map(pid, "/uid_map", uid) == 0 && write_map(pid, "/gid_map", gid) == 0)
			ns = open(path, O_RDONLY | O_CLOEXEC);
		err = errno;
	} else if (pid < 0) {
		err = errno;
	}
	close(ready[0]);
	close(hold[1]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	errno = err;
	return ns;
}

/* kernel_stage mounts the image (fd) on pcocc_kernel_dir in a new mount
 * namespace of this process, read-only, nosuid, nodev, idmapped to the
 * user. As root. 0, or -1 with errno and *what set. */
int pcocc_kernel_stage(int fd, uid_t uid, gid_t gid, const char **what)
{
	const char *dir = pcocc_kernel_dir;
	char loop[48];
	struct stat st;
	*what = "making the image's mount namespace";
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return -1;
	*what = pcocc_kernel_dir;
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || lstat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0) {
		errno = ENOTDIR;
		return -1;
	}
	*what = "setting up a loop device for the image";
	int dev = attach_loop(fd, loop);
	if (dev < 0)
		return -1;
	*what = "mounting the image with the kernel's squashfs";
	int rc = mount(loop, dir, "squashfs", MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
	int err = errno;
	close(dev); /* the mount holds the device now; autoclear does the rest */
	if (rc < 0) {
		errno = err;
		return -1;
	}
	*what = "mapping the image's owners to the user";
	int ns = idmap_userns(uid, gid);
	if (ns < 0)
		return -1;
	int tree = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				.userns_fd = (uint64_t)ns };
	rc = tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0 ||
	     umount2(dir, MNT_DETACH) < 0 || move_mount(tree, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0 ? -1 : 0;
	err = errno;
	close(ns);
	if (tree >= 0)
		close(tree);
	errno = err;
	return rc;
}
