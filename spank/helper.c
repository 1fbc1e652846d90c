/* Running the pcocc helper: `check` on the submit side, `start` in
 * slurmstepd (README.md has the contract).
 *
 * srun and slurmstepd are multi-threaded: between fork() and exec the child
 * calls only async-signal-safe functions (no malloc, no stdio, no
 * strerror). Everything it needs is prepared before the fork. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pcocc_exit.h"
#include "pcocc_spank.h"

#define RESULT_FD 3
#define STOP_FD 4
/* Bounds on what root reads from the user's helper: the result holds the
 * tasks' environment (execve refuses much more anyway), the log a few
 * messages. */
#define RESULT_MAX (16u << 20)
#define LOG_MAX (64u << 10)

/* helper_argv returns pcocc __spank VERB --ctr=... with the option strings
 * unchanged ("--opt=value": a value that starts with '-' stays a value),
 * and extra (NULL: none) last. */
static char **helper_argv(const char *verb, const char *extra)
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
		if (asprintf(&owned[i], "--%s=%s", names[i], vals[i]) < 0) {
			owned[i] = NULL;
			return NULL;
		}
		argv[n++] = owned[i];
	}
	if (pcocc_opts.no_defaults)
		argv[n++] = "--ctr-no-defaults";
	if (extra)
		argv[n++] = (char *)extra;
	argv[n] = NULL;
	return argv;
}

/* say writes "pcocc: WHAT: ERROR\n" to fd, async-signal-safely:
 * strerrordesc_np is a table lookup (no locale, no allocation). */
static void say(int fd, const char *what, int err)
{
	const char *desc = strerrordesc_np(err);
	const char *parts[] = { "pcocc: ", what, ": ", desc ? desc : "unknown error", "\n" };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (write(fd, parts[i], strlen(parts[i])) < 0)
			return;
}

static void child_fail(int fd, const char *what)
{
	say(fd, what, errno);
	_exit(PCOCC_EXIT_SETUP);
}

/* pcocc_check runs `pcocc __spank check` as the caller (srun, sbatch and
 * salloc run as the user), its messages on the user's terminal. On failure
 * it ends the command itself, with pcocc run's status: Slurm ignores the
 * errors of a plugin listed as "optional" in plugstack.conf, and would run
 * the job outside the container. Nothing is allocated yet. */
int pcocc_check(spank_t sp)
{
	(void)sp;
	char **argv = helper_argv("check", NULL);
	if (!argv) {
		say(2, "preparing the --ctr check", errno);
		exit(PCOCC_EXIT_SETUP);
	}
	pid_t pid = fork();
	if (pid < 0) {
		say(2, "running the --ctr check", errno);
		exit(PCOCC_EXIT_SETUP);
	}
	if (pid == 0) {
		execv(pcocc_path, argv);
		child_fail(2, pcocc_path);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			say(2, "waiting for the --ctr check", errno);
			exit(PCOCC_EXIT_SETUP);
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	exit(PCOCC_EXIT_SETUP);
}

/* What the helper's child needs, gathered before the fork. */
struct child {
	char **argv, **env;
	uid_t uid;
	gid_t gid, *gids;
	int ngids;
	pid_t parent;
	int devnull, result, stop, log; /* the child's ends */
	int image; /* >= 0: mount it with the kernel first (kernel.c) */
};

static int job_ids(spank_t sp, struct child *c)
{
	return spank_get_item(sp, S_JOB_UID, &c->uid) == ESPANK_SUCCESS &&
	       spank_get_item(sp, S_JOB_GID, &c->gid) == ESPANK_SUCCESS &&
	       spank_get_item(sp, S_JOB_SUPPLEMENTARY_GIDS, &c->gids, &c->ngids) == ESPANK_SUCCESS ? 0 : -1;
}

/* become_user drops slurmstepd's root for good: the helper is the job's
 * user, with the job's groups. */
static int become_user(const struct child *c)
{
	/* user_init runs with only the effective ids dropped: regain root to
	 * set all of them (fails harmlessly when already the user). */
	if (seteuid(0) == 0 && setgroups(c->ngids, c->gids) < 0)
		return -1;
	if (setresgid(c->gid, c->gid, c->gid) < 0 || setresuid(c->uid, c->uid, c->uid) < 0)
		return -1;
	return getuid() == c->uid && geteuid() == c->uid && getgid() == c->gid ? 0 : -1;
}

/* no_kernel: the kernel mount failed for a reason of this node (no loop
 * device, no squashfs driver...): warn, and let `start` mount the image
 * as the user, as with kernel=off (its --kernel-tree argument, the last,
 * is dropped). Nothing privileged was left: a loop device not mounted
 * clears itself when closed. */
static void no_kernel(const struct child *c, const char *what)
{
	const char *desc = strerrordesc_np(errno);
	const char *parts[] = { "pcocc: warning: the kernel mount of the image failed, mounting it as the user: ",
				what, ": ", desc ? desc : "unknown error", "\n" };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (write(c->log, parts[i], strlen(parts[i])) < 0)
			break;
	char **a = c->argv;
	while (a[0] && a[1])
		a++;
	a[0] = NULL;
}

/* exec_start is the helper's child side: never returns. */
static void exec_start(const struct child *c)
{
	const char *what = "regaining root for the kernel mount";
	if (c->image >= 0 && (seteuid(0) < 0 || pcocc_kernel_stage(c->image, c->uid, c->gid, &what) < 0))
		no_kernel(c, what);
	if (become_user(c) < 0)
		child_fail(c->log, "becoming the job's user");
	/* After the id change, which clears it: the helper, and through it
	 * the container, dies with slurmstepd. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->parent)
		child_fail(c->log, "setting the parent death signal");
	setsid();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	/* Above RESULT_FD first, so that no dup2 below lands on itself. The
	 * dup2s clear close-on-exec: the helper sets it again at once. */
	int r = fcntl(c->result, F_DUPFD, 10), s = fcntl(c->stop, F_DUPFD, 10), l = fcntl(c->log, F_DUPFD, 10);
	if (r < 0 || s < 0 || l < 0 || dup2(c->devnull, 0) < 0 || dup2(l, 1) < 0 || dup2(l, 2) < 0 ||
	    dup2(r, RESULT_FD) < 0 || dup2(s, STOP_FD) < 0)
		child_fail(c->log, "setting the helper's descriptors");
	close_range(STOP_FD + 1, ~0U, 0);
	execve(pcocc_path, c->argv, c->env);
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

/* read_result reads records up to "end" (not to EOF: the helper keeps the
 * pipe while it holds the container), at most RESULT_MAX bytes. NULL: no
 * "end", too much, or no memory. */
static char *read_result(int fd, size_t *len)
{
	size_t cap = 4096, n = 0, rec = 0; /* rec: where the next record starts */
	char *buf = malloc(cap);
	while (buf) {
		for (char *z; (z = memchr(buf + rec, '\0', n - rec)); rec = z - buf + 1)
			if (strcmp(buf + rec, "end") == 0) {
				*len = z - buf + 1;
				return buf;
			}
		if (n == cap) {
			char *b = cap < RESULT_MAX ? realloc(buf, cap *= 2) : NULL;
			if (!b)
				break;
			buf = b;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	free(buf);
	return NULL;
}

/* read_log returns the helper's messages, a NUL-terminated string: the last
 * LOG_MAX bytes (the error is last), whatever size the helper gave it. */
static char *read_log(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	off_t from = st.st_size > (off_t)LOG_MAX ? st.st_size - (off_t)LOG_MAX : 0;
	char *buf = malloc(LOG_MAX + 1);
	size_t n = 0;
	while (buf && n < LOG_MAX) {
		ssize_t r = pread(fd, buf + n, LOG_MAX - n, from + (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* start_failed keeps a failure for the tasks to report (their stderr is the
 * user's; slurmstepd's is not). */
static void start_failed(const char *what, int err)
{
	struct pcocc_node *n = &pcocc_node;
	n->failed = 1;
	free(n->log);
	if (asprintf(&n->log, "pcocc: %s: %s\n", what, strerror(err)) < 0)
		n->log = NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* fork_helper forks `pcocc __spank VERB` as the job's user with result,
 * stop and log as its fds 3, 4 and 1-2 (stop < 0: /dev/null), after
 * mounting image (>= 0) with the kernel. The pid, or -1 with errno. */
static pid_t fork_helper(spank_t sp, const char *verb, int result, int stop, int log, int image)
{
	struct child c = { .parent = getpid(), .result = result, .stop = stop, .log = log, .image = image };
	char extra[64];
	snprintf(extra, sizeof extra, "--kernel-tree=%s", pcocc_kernel_dir);
	if (!(c.argv = helper_argv(verb, image >= 0 ? extra : NULL)))
		return -1;
	if (spank_get_item(sp, S_JOB_ENV, &c.env) != ESPANK_SUCCESS || job_ids(sp, &c) < 0) {
		errno = EINVAL; /* Slurm has no job to give */
		return -1;
	}
	if ((c.devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	if (c.stop < 0)
		c.stop = c.devnull;
	pid_t pid = fork();
	if (pid == 0)
		exec_start(&c);
	int err = errno;
	close(c.devnull);
	errno = err;
	return pid;
}

/* spawn forks the start helper with res[1], stop[0] and log as its fds 3,
 * 4 and 1-2; the parent keeps res[0] and stop[1]. 0, or -1 with errno. */
static int spawn(spank_t sp, int res[2], int stop[2], int log, int image)
{
	pid_t pid = fork_helper(sp, "start", res[1], stop[0], log, image);
	int err = errno;
	close_fd(&res[1]);
	close_fd(&stop[0]);
	if (pid < 0) {
		errno = err;
		return -1;
	}
	pcocc_node.helper = pid;
	pcocc_node.stop = stop[1];
	stop[1] = -1;
	return 0;
}

/* no_message gives a failure without a message one. */
static void no_message(void)
{
	struct pcocc_node *n = &pcocc_node;
	if (n->failed && (!n->log || !n->log[0])) {
		free(n->log);
		n->log = strdup("pcocc: the container could not be set up (no message; see slurmd's log)\n");
	}
}

/* kernel_image runs `pcocc __spank image` (fd 3: a socket) and takes the
 * image's descriptor it sends back, checked (kernel.c). -1 with errno
 * EAGAIN: no kernel mount (off, or the helper chose another mount). On
 * another failure, the node's container has failed. */
static int kernel_image(spank_t sp, int log)
{
	int sv[2], fd = -1, st = 0;
	const char *why = NULL;
	if (pcocc_kernel_mode == PCOCC_KERNEL_OFF) {
		errno = EAGAIN;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		start_failed("starting the image's helper", errno);
		return -1;
	}
	pid_t pid = fork_helper(sp, "image", sv[1], -1, log, -1);
	int err = errno;
	close(sv[1]);
	while (pid > 0 && waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			err = errno;
			pid = -1;
		}
	if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		fd = pcocc_kernel_recv(sv[0]);
		err = errno;
	}
	close(sv[0]);
	if (pid < 0)
		start_failed("running the image's helper", err);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		pcocc_node.failed = 1; /* its message is in the log */
	else if (fd < 0 && err != EAGAIN)
		start_failed("the image's helper", err);
	else if (fd >= 0 && pcocc_kernel_take(fd, &why) < 0) {
		close(fd);
		fd = -1;
		pcocc_node.failed = 1;
		free(pcocc_node.log);
		if (asprintf(&pcocc_node.log, "pcocc: --ctr=%s: %s\n", pcocc_opts.image, why) < 0)
			pcocc_node.log = NULL;
	}
	errno = fd < 0 && !pcocc_node.failed ? EAGAIN : err;
	return fd;
}

/* pcocc_start starts the helper, which sets up this node's container and
 * holds it, and reads what the tasks need to join it. A failure is kept
 * for the tasks to report, so it never fails the callback itself. */
int pcocc_start(spank_t sp)
{
	struct pcocc_node *n = &pcocc_node;
	int res[2] = { -1, -1 }, stop[2] = { -1, -1 };
	int log = memfd_create("pcocc-helper", MFD_CLOEXEC);
	int image = log < 0 ? -1 : kernel_image(sp, log);
	if (n->failed) { /* the image's helper: its message, or kernel_image's */
		if (!n->log)
			n->log = read_log(log);
		close(log);
		no_message();
		return 0;
	}
	if (log < 0 || pipe2(res, O_CLOEXEC) < 0 || pipe2(stop, O_CLOEXEC) < 0 || spawn(sp, res, stop, log, image) < 0) {
		if (image >= 0)
			close(image);
		start_failed("starting the container's helper", errno);
		for (int i = 0; i < 2; i++) {
			close_fd(&res[i]);
			close_fd(&stop[i]);
		}
		close_fd(&log);
		return 0;
	}
	if (image >= 0)
		close(image);
	size_t len = 0;
	char *buf = read_result(res[0], &len);
	close(res[0]);
	if (!buf || parse_result(buf, len) < 0) {
		slurm_debug("pcocc: the helper gave no container");
		n->failed = 1;
		/* Closing the stop pipe first: a helper that did not fail (the
		 * result was garbled) would otherwise hold its container, and
		 * this wait, for ever. A failed one is exiting already. */
		pcocc_stop();
	}
	free(buf);
	n->log = read_log(log);
	close(log);
	no_message();
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
	close_fd(&n->stop);
	for (int i = 0;; i++) {
		if (i == 1000)
			kill(n->helper, SIGKILL);
		/* Blocking once killed: SIGKILL ends it. */
		pid_t r = waitpid(n->helper, NULL, i < 1000 ? WNOHANG : 0);
		/* ECHILD: slurmstepd reaped it first. */
		if ((r < 0 && errno != EINTR) || r == n->helper || gone(n->helper))
			break;
		if (i < 1000)
			nanosleep(&t, NULL);
	}
	n->helper = 0;
}
