/* Joining the node's container, in the task itself (single-threaded, as
 * the user), just before slurmstepd execs the task's command. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcocc_spank.h"

#define CODE_SETUP 125 /* as pcocc run: the container could not be set up */

static void fail(const char *what)
{
	dprintf(2, "pcocc: %s: %s\n", what, strerror(errno));
	_exit(CODE_SETUP);
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
	/* slurmstepd's switch from root left the task non-dumpable, which
	 * makes its /proc files root's: it could not write its own maps. It
	 * is the user's process, soon exec'd as the user anyway. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		fail("making the task dumpable");
	if (unshare(CLONE_NEWUSER) < 0)
		fail("creating the task's user namespace");
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof map, "%u 0 1\n", (unsigned)uid);
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof map, "%u 0 1\n", (unsigned)gid);
	write_file("/proc/self/gid_map", map);
}

/* Join init's user namespace (the user owns it), then its mount namespace
 * (the task now has CAP_SYS_ADMIN over it), then make the task's own user
 * namespace. As root (pcocc's kernel mode: no user namespace) the mount
 * namespace alone. Both descriptors are opened first: /proc changes with
 * the mount namespace. */
static void join_namespaces(int first)
{
	struct pcocc_node *n = &pcocc_node;
	uid_t uid = getuid();
	gid_t gid = getgid();
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
	if (userns)
		own_userns(uid, gid);
	if (chdir(n->cwd) < 0) {
		if (n->cwd_strict) {
			dprintf(2, "pcocc: --ctr-workdir %s: no such directory in the container\n", n->cwd);
			_exit(CODE_SETUP);
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

/* The task's environment becomes the planned one, except the variables that
 * Slurm, PMI and PMIx set for the task (internal/slurm.Kept), which win. */
static void apply_env(spank_t sp)
{
	char **env = NULL, **drop = NULL, **have = NULL;
	size_t nd = 0, nh = 0;
	if (spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS)
		fail("reading the task's environment");
	for (; env && *env; env++) {
		size_t len = strcspn(*env, "=");
		char *name = strndup(*env, len);
		char ***list = kept(name, len) ? &have : &drop;
		size_t *cnt = list == &have ? &nh : &nd;
		char **l = name ? realloc(*list, (*cnt + 1) * sizeof(char *)) : NULL;
		if (!l)
			fail("reading the task's environment");
		l[(*cnt)++] = name;
		*list = l;
	}
	for (size_t i = 0; i < nd; i++)
		spank_unsetenv(sp, drop[i]);
	for (size_t i = 0; i < pcocc_node.nenv; i++) {
		char *e = pcocc_node.env[i], *eq = strchr(e, '=');
		if (!eq)
			continue;
		*eq = '\0';
		int skip = 0;
		for (size_t j = 0; j < nh && !skip; j++)
			skip = strcmp(have[j], e) == 0;
		if (!skip && spank_setenv(sp, e, eq + 1, 1) != ESPANK_SUCCESS)
			fail("setting the task's environment");
		*eq = '=';
	}
	for (size_t i = 0; i < pcocc_node.ndflt; i++) {
		char *e = pcocc_node.dflt[i], *eq = strchr(e, '=');
		if (!eq)
			continue;
		*eq = '\0';
		spank_setenv(sp, e, eq + 1, 0); /* 0: an existing value stays */
		*eq = '=';
	}
}

int pcocc_join(spank_t sp)
{
	if (pcocc_node.failed) {
		int local = -1;
		spank_get_item(sp, S_TASK_ID, &local);
		if (local == 0 && pcocc_node.log) /* once per node */
			dprintf(2, "%s", pcocc_node.log);
		_exit(CODE_SETUP);
	}
	uint32_t global = 1;
	spank_get_item(sp, S_TASK_GLOBAL_ID, &global);
	if (global == 0 && pcocc_node.log && pcocc_node.log[0]) /* warnings, once */
		dprintf(2, "%s", pcocc_node.log);
	apply_env(sp);
	join_namespaces(global == 0);
	return 0;
}
