/* Joining the node's container, in the task itself (single-threaded, as
 * the user), just before slurmstepd execs the task's command. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pcocc_exit.h"
#include "pcocc_spank.h"


static void fail(const char *what)
{
	dprintf(2, "pcocc: %s: %s\n", what, strerror(errno));
	_exit(PCOCC_EXIT_SETUP);
}

static int ns_open(pid_t pid, const char *ns)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int same_ns(int fd, const char *self)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		fail(path);
	close(fd);
}

/* own_userns gives the task a user namespace of its own inside init's,
 * mapped like pcocc run's program: the user's ids to init's 0, which is
 * the user on the host. The task is then itself, and execve leaves it no
 * capability (no_new_privs besides). */
static void own_userns(uid_t uid, gid_t gid)
{
	char map[64];
	if (unshare(CLONE_NEWUSER) < 0)
		fail("creating the task's user namespace");
	/* slurmstepd's switch from root left the task non-dumpable, which
	 * makes its /proc files root's: it could not write its own maps. It
	 * is dumpable only for that: until the exec, its memory is still
	 * slurmstepd's, which the user must not read (exec makes the user's
	 * program dumpable again). */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		fail("making the task dumpable");
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof map, "%u 0 1\n", (unsigned)uid);
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof map, "%u 0 1\n", (unsigned)gid);
	write_file("/proc/self/gid_map", map);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("making the task non-dumpable");
}

/* Host-wide files that root may write with no capability at all (the
 * sysctls check the owner bits), made read-only for root tasks. */
static const char *const host_files[] = {
	"/sys", "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
};

/* read_only binds path (and what is mounted under it) onto itself, then
 * makes every mount there read-only. A path the container lacks is fine. */
static void read_only(const char *path)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return;
		fail(path);
	}
	if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &ro, sizeof ro) < 0)
		fail(path);
}

/* NOBODY is the uid and gid root's tasks run as, as pcocc run's programs
 * do (docs/running.md, "Running as root"): without any capability, uid 0
 * still owns the host's files on every bind mount (the shared /tmp...). */
#define NOBODY 65534

/* drop_root empties the capability bounding set (that needs CAP_SETPCAP),
 * becomes nobody with no supplementary group (which clears the permitted
 * and effective sets), then empties every set left: the task's execve
 * yields no capability either. */
static void drop_root(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { 0 };
	for (int c = 0; prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			fail("dropping the capability bounding set");
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
		fail("switching root's task to nobody");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 || syscall(SYS_capset, &h, d) < 0)
		fail("dropping capabilities");
}

/* read_only_host: uid 0 may write the host's sysctls even without any
 * capability (they check the owner bits). A root task gets a copy of the
 * container's mount namespace (the other tasks keep theirs) with the
 * host-wide files read-only. That needs CAP_SYS_ADMIN over the container's
 * mount namespace, which the task has here and no longer has once it is in
 * a user namespace of its own or has dropped its capabilities: it cannot
 * undo it. */
static void read_only_host(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		fail("making the task's mount namespace");
	for (size_t i = 0; i < sizeof host_files / sizeof host_files[0]; i++)
		read_only(host_files[i]);
}

/* Join init's user namespace (the user owns it), then its mount namespace
 * (the task now has CAP_SYS_ADMIN over it), then make the task's own user
 * namespace. As root (pcocc's kernel mode: no user namespace) the mount
 * namespace alone, and the task runs as nobody without any capability,
 * which it would otherwise keep. Root's tasks see the host-wide files read-only either way.
 * Both descriptors are opened first: /proc changes with the mount
 * namespace. */
static void join_namespaces(int first)
{
	struct pcocc_node *n = &pcocc_node;
	uid_t uid = getuid();
	gid_t gid = getgid();
	int root = uid == 0; /* on the host: nothing is joined yet */
	int user = ns_open(n->init, "user"), mnt = ns_open(n->init, "mnt");
	if (user < 0 || mnt < 0)
		fail("the node's container is gone");
	int userns = !same_ns(user, "/proc/self/ns/user");
	if (userns && setns(user, CLONE_NEWUSER) < 0)
		fail("joining the container's user namespace");
	if (setns(mnt, CLONE_NEWNS) < 0)
		fail("joining the container's mount namespace");
	close(user);
	close(mnt);
	if (root)
		read_only_host();
	if (userns)
		own_userns(uid, gid);
	else if (root)
		drop_root();
	if (chdir(n->cwd) < 0) {
		if (n->cwd_strict) {
			dprintf(2, "pcocc: --ctr-workdir %s: no such directory in the container\n", n->cwd);
			_exit(PCOCC_EXIT_SETUP);
		}
		if (chdir("/") < 0)
			fail("changing to the working directory");
		if (first) /* as pcocc run says it, once per step */
			dprintf(2, "pcocc: warning: working directory %s does not exist in the container: using /\n", n->cwd);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("setting no_new_privs");
}

static int kept(const char *name, size_t len)
{
	for (size_t i = 0; i < pcocc_node.nkeep; i++) {
		const char *k = pcocc_node.keep[i];
		size_t kl = strlen(k);
		if (kl && k[kl - 1] == '*' ? len >= kl - 1 && strncmp(name, k, kl - 1) == 0
					  : len == kl && strncmp(name, k, kl) == 0)
			return 1;
	}
	return 0;
}

/* drop_unkept unsets the task's variables that the rule does not keep, one
 * at a time: unsetting changes the array, which is read again each time
 * (nothing to copy, so nothing to leak). Each round removes one of the n. */
static void drop_unkept(spank_t sp)
{
	size_t n = 0;
	for (size_t round = 0; round == 0 || round <= n; round++) {
		char **env = NULL, *name = NULL;
		if (spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS)
			fail("reading the task's environment");
		for (char **e = env; e && *e; e++) {
			size_t len = strcspn(*e, "=");
			n += round == 0;
			if (!name && len && (*e)[len] == '=' && !kept(*e, len) && !(name = strndup(*e, len)))
				fail("reading the task's environment");
		}
		if (!name)
			return;
		spank_err_t err = spank_unsetenv(sp, name);
		free(name);
		if (err != ESPANK_SUCCESS)
			break;
	}
	errno = EINVAL;
	fail("clearing the task's environment");
}

/* set_each sets the NAME=VALUE entries of vars that the task lacks. */
static void set_each(spank_t sp, char **vars, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *e = vars[i], *eq = strchr(e, '=');
		if (!eq)
			continue;
		*eq = '\0';
		spank_err_t err = spank_setenv(sp, e, eq + 1, 0);
		*eq = '=';
		if (err != ESPANK_SUCCESS && err != ESPANK_ENV_EXISTS) {
			errno = EINVAL;
			fail("setting the task's environment");
		}
	}
}

/* The task's environment becomes the planned one, except the variables that
 * Slurm, PMI and PMIx set for the task, which win: the "keep" records of the
 * result (the rule is internal/slurm.KeepPrefixes and KeepNames). Once the
 * others are gone, "the task lacks it" is "no kept variable wins". */
static void apply_env(spank_t sp)
{
	drop_unkept(sp);
	set_each(sp, pcocc_node.env, pcocc_node.nenv);
	set_each(sp, pcocc_node.dflt, pcocc_node.ndflt);
}

int pcocc_join(spank_t sp)
{
	if (pcocc_node.failed) {
		int local = -1;
		spank_get_item(sp, S_TASK_ID, &local);
		if (local == 0 && pcocc_node.log) /* once per node */
			dprintf(2, "%s", pcocc_node.log);
		_exit(PCOCC_EXIT_SETUP);
	}
	uint32_t global = 1;
	spank_get_item(sp, S_TASK_GLOBAL_ID, &global);
	if (global == 0 && pcocc_node.log && pcocc_node.log[0]) /* warnings, once */
		dprintf(2, "%s", pcocc_node.log);
	apply_env(sp);
	join_namespaces(global == 0);
	return 0;
}
