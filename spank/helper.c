/* Running the pcocc helper: `check` on the submit side, `start` in
 * slurmstepd (README.md has the contract). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pcocc_spank.h"

#define RESULT_FD 3
#define STOP_FD 4

/* helper_argv returns pcocc __spank VERB --ctr=... with the option strings
 * unchanged ("--opt=value": a value that starts with '-' stays a value). */
static char **helper_argv(const char *verb)
{
	static char *argv[12];
	static char *owned[6];
	const char *names[] = { "ctr", "ctr-mount", "ctr-module", "ctr-env", "ctr-workdir" };
	const char *vals[] = { pcocc_opts.image, pcocc_opts.mount, pcocc_opts.module,
			       pcocc_opts.env, pcocc_opts.workdir };
	int n = 0;
	argv[n++] = (char *)pcocc_path;
	argv[n++] = "__spank";
	argv[n++] = (char *)verb;
	for (int i = 0; i < 5; i++) {
		if (!vals[i])
			continue;
		free(owned[i]);
		if (asprintf(&owned[i], "--%s=%s", names[i], vals[i]) < 0)
			return NULL;
		argv[n++] = owned[i];
	}
	if (pcocc_opts.no_defaults)
		argv[n++] = "--ctr-no-defaults";
	argv[n] = NULL;
	return argv;
}

/* pcocc_check runs `pcocc __spank check` as the caller (srun, sbatch and
 * salloc run as the user), its messages on the user's terminal. On failure
 * it ends the command itself, with pcocc run's status: Slurm ignores the
 * errors of a plugin listed as "optional" in plugstack.conf. Nothing is
 * allocated yet. */
int pcocc_check(spank_t sp)
{
	(void)sp;
	char **argv = helper_argv("check");
	if (!argv)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(pcocc_path, argv);
		dprintf(2, "pcocc: cannot run %s: %s\n", pcocc_path, strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	exit(125);
}

/* become_user drops slurmstepd's root for good: the helper is the job's
 * user, with the job's groups. */
static int become_user(spank_t sp)
{
	uid_t uid;
	gid_t gid, *gids = NULL;
	int ngids = 0;
	if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_SUPPLEMENTARY_GIDS, &gids, &ngids) != ESPANK_SUCCESS)
		return -1;
	/* user_init runs with only the effective ids dropped: regain root to
	 * set all of them (fails harmlessly when already the user). */
	if (seteuid(0) == 0 && setgroups(ngids, gids) < 0)
		return -1;
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -1;
	return getuid() == uid && geteuid() == uid && getgid() == gid ? 0 : -1;
}

static void child_fail(int log, const char *what)
{
	dprintf(log, "pcocc: %s: %s\n", what, strerror(errno));
	_exit(125);
}

/* exec_start is the helper's child side: never returns. */
static void exec_start(spank_t sp, int result, int stop, int log, pid_t parent)
{
	char **env = NULL;
	char **argv = helper_argv("start");
	int devnull = open("/dev/null", O_RDWR);
	if (!argv || devnull < 0 || spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS)
		child_fail(log, "preparing the helper");
	if (become_user(sp) < 0)
		child_fail(log, "becoming the job's user");
	/* After the id change, which clears it: the helper, and through it
	 * the container, dies with slurmstepd. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		child_fail(log, "setting the parent death signal");
	setsid();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	/* Above RESULT_FD first, so that no dup2 below lands on itself. */
	int r = fcntl(result, F_DUPFD, 10), s = fcntl(stop, F_DUPFD, 10), l = fcntl(log, F_DUPFD, 10);
	if (r < 0 || s < 0 || l < 0 || dup2(devnull, 0) < 0 || dup2(l, 1) < 0 || dup2(l, 2) < 0 ||
	    dup2(r, RESULT_FD) < 0 || dup2(s, STOP_FD) < 0)
		child_fail(log, "setting the helper's descriptors");
	close_range(STOP_FD + 1, ~0U, 0);
	execve(pcocc_path, argv, env);
	child_fail(2, pcocc_path);
}

static int add(char ***list, size_t *n, const char *s)
{
	char **l = realloc(*list, (*n + 2) * sizeof(char *));
	if (!l)
		return -1;
	*list = l;
	if (!(l[*n] = strdup(s)))
		return -1;
	l[++*n] = NULL;
	return 0;
}

/* parse_result reads the NUL-terminated records; 0 when "end" was seen. */
static int parse_result(char *buf, size_t len)
{
	struct pcocc_node *n = &pcocc_node;
	for (char *p = buf, *next; p < buf + len; p = next) {
		next = p + strlen(p) + 1; /* before the '=' below cuts p */
		if (strcmp(p, "end") == 0)
			return n->init > 0 && n->cwd ? 0 : -1;
		char *v = strchr(p, '=');
		if (!v)
			return -1;
		*v++ = '\0';
		int rc = 0;
		if (strcmp(p, "init") == 0)
			n->init = atoi(v);
		else if (strcmp(p, "cwdstrict") == 0)
			n->cwd_strict = 1;
		else if (strcmp(p, "cwd") == 0)
			rc = (n->cwd = strdup(v)) ? 0 : -1;
		else if (strcmp(p, "env") == 0)
			rc = add(&n->env, &n->nenv, v);
		else if (strcmp(p, "keep") == 0)
			rc = add(&n->keep, &n->nkeep, v);
		else if (strcmp(p, "default") == 0)
			rc = add(&n->dflt, &n->ndflt, v);
		if (rc < 0)
			return -1;
	}
	return -1;
}

static char *read_all(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	for (ssize_t r; buf; n += r) {
		if (n == cap) {
			char *b = realloc(buf, (cap *= 2) + 1);
			if (!b)
				break;
			buf = b;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r <= 0) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* pcocc_start starts the helper, which sets up this node's container and
 * holds it, and reads what the tasks need to join it. A failure is kept
 * for the tasks to report (their stderr is the user's; slurmstepd's is
 * not), so it never fails the callback itself. */
int pcocc_start(spank_t sp)
{
	struct pcocc_node *n = &pcocc_node;
	int res[2], stop[2], log = memfd_create("pcocc-helper", MFD_CLOEXEC);
	if (log < 0 || pipe2(res, O_CLOEXEC) < 0 || pipe2(stop, O_CLOEXEC) < 0) {
		slurm_error("pcocc: pipe: %m");
		return -1;
	}
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		slurm_error("pcocc: fork: %m");
		return -1;
	}
	if (pid == 0)
		exec_start(sp, res[1], stop[0], log, parent);
	close(res[1]);
	close(stop[0]);
	n->stop = stop[1];
	size_t len = 0;
	char *buf = read_all(res[0], &len);
	close(res[0]);
	n->helper = pid;
	if (!buf || parse_result(buf, len) < 0) {
		slurm_debug("pcocc: the helper gave no container (%zu bytes)", len);
		n->failed = 1;
		/* It is exiting: let it finish its message, then reap it. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		pcocc_stop();
	}
	free(buf);
	lseek(log, 0, SEEK_SET);
	n->log = read_all(log, &len);
	close(log);
	if (n->failed && (!n->log || !n->log[0])) {
		free(n->log);
		n->log = strdup("pcocc: the container could not be set up (no message; see slurmd's log)\n");
	}
	return 0;
}

static int gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return 1;
	buf[r] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'Z';
}

/* pcocc_stop closes the helper's stop pipe: the helper kills init (the
 * mounts go with its mount namespace), reaps it and squashfuse_ll, and
 * exits. Waited for (5 s, then SIGKILL), so that the step ends with nothing
 * of the container left. */
void pcocc_stop(void)
{
	struct pcocc_node *n = &pcocc_node;
	struct timespec t = { 0, 5 * 1000 * 1000 };
	if (n->helper <= 0)
		return;
	close(n->stop);
	for (int i = 0; i < 1000; i++) {
		if (i == 999)
			kill(n->helper, SIGKILL);
		pid_t r = waitpid(n->helper, NULL, WNOHANG);
		/* ECHILD: slurmstepd reaped it first. */
		if ((r < 0 && errno != EINTR) || r == n->helper || gone(n->helper))
			break;
		nanosleep(&t, NULL);
	}
	n->helper = 0;
}
