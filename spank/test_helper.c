/* Tests of helper.c's root side against a hostile helper, on real pipes
 * and memfds: `make test`. Slurm's API is stubbed (no slurmstepd here);
 * the code under test is helper.c itself, included for its static
 * functions. Each test runs under an alarm: a read that waits for an EOF
 * the helper never sends is a failure, not a hang. */
#include "helper.c"
#include "kernel.c"

#include <dirent.h>
#include <stdarg.h>
#include <sys/resource.h>


struct pcocc_opts pcocc_opts;
struct pcocc_node pcocc_node;
const char *pcocc_path = "/nonexistent/pcocc";

/* A job of this process's own ids and environment, when job_ok is set;
 * else Slurm has none to give. */
static int job_ok;
extern char **environ;

spank_err_t spank_get_item(spank_t sp, spank_item_t item, ...)
{
	static gid_t gids[1];
	(void)sp;
	if (!job_ok)
		return ESPANK_ERROR;
	va_list ap;
	va_start(ap, item);
	switch (item) {
	case S_JOB_UID:
		*va_arg(ap, uid_t *) = getuid();
		break;
	case S_JOB_GID:
		*va_arg(ap, gid_t *) = gids[0] = getgid();
		break;
	case S_JOB_SUPPLEMENTARY_GIDS:
		*va_arg(ap, gid_t **) = gids;
		*va_arg(ap, int *) = 1;
		break;
	case S_JOB_ENV:
		*va_arg(ap, char ***) = environ;
		break;
	default:
		va_end(ap);
		return ESPANK_ERROR;
	}
	va_end(ap);
	return ESPANK_SUCCESS;
}

void slurm_debug(const char *fmt, ...) { (void)fmt; }
void slurm_error(const char *fmt, ...) { (void)fmt; }

static int failures;

#define CHECK(cond, ...)                                        \
	do {                                                    \
		if (!(cond)) {                                  \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);           \
			fputc('\n', stderr);                    \
			failures++;                             \
		}                                               \
	} while (0)

static const char *volatile helper_file; /* to remove, even on a timeout */

static void on_alarm(int sig)
{
	(void)sig;
	if (helper_file)
		unlink(helper_file);
	static const char msg[] = "FAIL: timed out: a read waited for the helper\n";
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(1);
	_exit(1);
}

/* A helper that wrote its records and keeps the pipe open (it holds the
 * container, or a generator left a process holding it): the plugin reads
 * up to "end", not to EOF. A value "end" is not the record. */
static void test_result_stops_at_end(void)
{
	static const char recs[] = "init=7\0cwd=/\0env=X=end\0env=end\0end\0";
	int p[2];
	if (pipe(p) < 0 || write(p[1], recs, sizeof recs - 1) != (ssize_t)(sizeof recs - 1))
		abort();
	size_t len = 0;
	alarm(10);
	char *buf = read_result(p[0], &len);
	alarm(0);
	CHECK(buf && len == sizeof recs - 1, "read_result: %p, %zu bytes, want %zu", (void *)buf, len, sizeof recs - 1);
	CHECK(buf && parse_result(buf, len) == 0 && pcocc_node.init == 7 && pcocc_node.nenv == 2,
	      "parse_result: init %d, %zu env", pcocc_node.init, pcocc_node.nenv);
	free(buf);
	close(p[0]);
	close(p[1]);
}

/* Records without "end", past RESULT_MAX, from a helper that keeps the
 * pipe open: refused without reading them all. */
static void test_result_capped(void)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		static char junk[1 << 16];
		close(p[0]); /* the reader gone, a write fails and this ends */
		alarm(30);
		memset(junk, 'a', sizeof junk);
		for (;;)
			if (write(p[1], junk, sizeof junk) < 0)
				_exit(0);
	}
	close(p[1]);
	size_t len = 0;
	alarm(20);
	char *buf = read_result(p[0], &len);
	alarm(0);
	CHECK(!buf, "read_result took %zu bytes without \"end\"", len);
	free(buf);
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A log the helper made huge (a sparse terabyte): only its tail, with the
 * last message, is read. */
static void test_log_capped(void)
{
	static const char last[] = "pcocc: the last words\n";
	int fd = memfd_create("log", 0);
	if (fd < 0 || ftruncate(fd, (off_t)1 << 40) < 0 ||
	    pwrite(fd, last, sizeof last - 1, ((off_t)1 << 40) - (off_t)(sizeof last - 1)) < 0)
		abort();
	alarm(10);
	char *log = read_log(fd);
	alarm(0);
	CHECK(log && log[LOG_MAX] == '\0' &&
	      memcmp(log + LOG_MAX - (sizeof last - 1), last, sizeof last - 1) == 0,
	      "read_log: not the last %u bytes", LOG_MAX);
	free(log);
	close(fd);
}

/* open_fds counts this process's descriptors; *high: the highest. */
static int open_fds_high(int *high)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0, self = d ? dirfd(d) : -1;
	*high = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == self)
			continue;
		n++;
		if (fd > *high)
			*high = fd;
	}
	if (d)
		closedir(d);
	return n;
}

static int open_fds(void)
{
	int high;
	return open_fds_high(&high);
}

/* pcocc_start never fails the callback, and closes what it opened when it
 * cannot start the helper: descriptors run out at each of its steps (room
 * free ones: a memfd, then two pipes), or Slurm has no job to give (room
 * 5). The failure is kept for the tasks. */
static void test_start_failures_close(void)
{
	int high, before = open_fds_high(&high);
	struct rlimit saved, low;
	if (getrlimit(RLIMIT_NOFILE, &saved) < 0)
		abort();
	for (int room = 0; room <= 5; room++) {
		/* No descriptor above the ones open, every free one below taken,
		 * then room of them given back. */
		static int taken[4096];
		int n = 0, fd;
		low = saved;
		low.rlim_cur = high + 1;
		if (setrlimit(RLIMIT_NOFILE, &low) < 0)
			abort();
		while (n < 4096 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
			taken[n++] = fd;
		for (int i = 0; i < room && n > 0; i++)
			close(taken[--n]);
		low.rlim_cur = high + 1 + room;
		if (setrlimit(RLIMIT_NOFILE, &low) < 0)
			abort();
		memset(&pcocc_node, 0, sizeof pcocc_node);
		int rc = pcocc_start(NULL);
		setrlimit(RLIMIT_NOFILE, &saved);
		while (n > 0)
			close(taken[--n]);
		CHECK(rc == 0, "pcocc_start returned %d with %d descriptors free", rc, room);
		CHECK(pcocc_node.failed && pcocc_node.log && strstr(pcocc_node.log, "pcocc: "),
		      "no failure kept with %d descriptors free", room);
		CHECK(open_fds() == before, "%d descriptors leaked with %d free", open_fds() - before, room);
		free(pcocc_node.log);
	}
}

/* fake_helper makes pcocc_path a shell script of body. */
static void fake_helper(const char *body)
{
	static char path[] = "/tmp/pcocc-test-helper-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || dprintf(fd, "#!/bin/sh\n%s\n", body) < 0 || fchmod(fd, 0700) < 0)
		abort();
	close(fd);
	pcocc_path = helper_file = path;
}

static void forget_helper(void)
{
	unlink(helper_file);
	helper_file = NULL;
}

/* A helper whose result is garbled ("end" alone: a generator could write
 * that once) but which holds its container until the stop pipe closes:
 * the plugin closes it before it waits, then reaps the helper. */
static void test_start_garbled_result(void)
{
	job_ok = 1;
	fake_helper("printf 'end\\0' >&3; echo 'pcocc: garbled' >&2; cat <&4 >/dev/null");
	memset(&pcocc_node, 0, sizeof pcocc_node);
	alarm(20);
	int rc = pcocc_start(NULL);
	alarm(0);
	forget_helper();
	CHECK(rc == 0 && pcocc_node.failed && pcocc_node.helper == 0, "rc %d, failed %d, helper %d",
	      rc, pcocc_node.failed, (int)pcocc_node.helper);
	CHECK(pcocc_node.log && strstr(pcocc_node.log, "pcocc: garbled"), "log %s", pcocc_node.log);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "the helper was not reaped");
}

/* A good helper that keeps its result pipe open (it holds the container):
 * the plugin takes the result at "end", and stopping ends the helper. */
static void test_start_and_stop(void)
{
	job_ok = 1;
	fake_helper("printf 'init=1\\0cwd=/w\\0env=A=1\\0end\\0' >&3; cat <&4 >/dev/null");
	memset(&pcocc_node, 0, sizeof pcocc_node);
	alarm(20);
	int rc = pcocc_start(NULL);
	CHECK(rc == 0 && !pcocc_node.failed && pcocc_node.helper > 0 && pcocc_node.init == 1 &&
	      pcocc_node.nenv == 1 && strcmp(pcocc_node.cwd, "/w") == 0,
	      "rc %d, failed %d, init %d", rc, pcocc_node.failed, pcocc_node.init);
	pcocc_stop();
	alarm(0);
	forget_helper();
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "the helper was not reaped");
}

/* Each test in a child of its own: a timeout fails that test only. */
static int run(const char *name, void (*test)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGALRM, on_alarm);
		test();
		_exit(failures ? 1 : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("%s %s\n", ok ? "ok  " : "FAIL", name);
	return ok ? 0 : 1;
}

/* send_fds sends msg with n descriptors of /dev/null over a new socket
 * pair and returns the receiving end. */
static int send_fds(const char *msg, int n)
{
	int sv[2], fds[4];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof fds)];
	} ctl;
	struct iovec iov = { (void *)msg, strlen(msg) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	for (int i = 0; i < n; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (n) {
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(n * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	if (sendmsg(sv[1], &m, 0) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(sv[1]);
	return sv[0];
}

/* What root takes from the image helper: "kernel" and one descriptor, or
 * "no" and none; anything else is refused, and its descriptors closed. */
static void test_kernel_recv(void)
{
	int before = open_fds();
	struct { const char *msg; int n, ok, err; } cases[] = {
		{ "kernel", 1, 1, 0 }, { "no", 0, 0, EAGAIN }, { "kernel", 0, 0, EPROTO },
		{ "kernel", 3, 0, EPROTO }, { "no", 1, 0, EPROTO }, { "kernelx", 1, 0, EPROTO },
		{ "yes", 1, 0, EPROTO },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int s = send_fds(cases[i].msg, cases[i].n);
		errno = 0;
		int fd = pcocc_kernel_recv(s);
		CHECK((fd >= 0) == cases[i].ok && (cases[i].ok || errno == cases[i].err),
		      "case %zu (%s, %d fds): fd %d errno %d", i, cases[i].msg, cases[i].n, fd, errno);
		if (fd >= 0)
			close(fd);
		close(s);
	}
	CHECK(open_fds() == before, "descriptors leaked: %d, then %d", before, open_fds());
}

/* Root's check of the image's descriptor: a regular file with a squashfs
 * 4.0 super block that fits it, in a listed directory when the site lists
 * some. */
static void test_kernel_take(void)
{
	char dir[] = "/tmp/pcocc-take-XXXXXX", path[64], sb[4096] = { 0 };
	const char *err = NULL;
	pcocc_kernel_mode = PCOCC_KERNEL_ON;
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof path, "%s/img", dir);
	memcpy(sb, "hsqs", 4);
	sb[28] = 4;
	sb[40] = (char)0x80; /* bytes_used 128 */
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, sb, 128) == 128, "writing %s", path);
	CHECK(pcocc_kernel_take(fd, &err) == 0, "a good image refused: %s", err);
	pcocc_kernel_mode = PCOCC_KERNEL_DIRS;
	pcocc_kernel_dirs = "/nonexistent:/tm";
	CHECK(pcocc_kernel_take(fd, &err) < 0 && strstr(err, "kernel="), "an image outside the listed directories taken");
	pcocc_kernel_dirs = "/nonexistent:/tmp";
	CHECK(pcocc_kernel_take(fd, &err) == 0, "an image in a listed directory refused: %s", err);
	pcocc_kernel_mode = PCOCC_KERNEL_ON;
	sb[40] = 0;
	sb[41] = 0x10; /* bytes_used 4096 > the file */
	CHECK(pwrite(fd, sb, 128, 0) == 128 && pcocc_kernel_take(fd, &err) < 0 && strstr(err, "truncated"), "a truncated image taken");
	sb[28] = 3;
	CHECK(pwrite(fd, sb, 128, 0) == 128 && pcocc_kernel_take(fd, &err) < 0 && strstr(err, "squashfs 4.0"), "a squashfs 3 taken");
	close(fd);
	unlink(path);
	int d = open(dir, O_RDONLY | O_CLOEXEC), null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(pcocc_kernel_take(d, &err) < 0 && strstr(err, "regular"), "a directory taken");
	CHECK(pcocc_kernel_take(null, &err) < 0 && strstr(err, "regular"), "a device taken");
	close(d);
	close(null);
	rmdir(dir);
}

int main(void)
{
	pcocc_kernel_mode = PCOCC_KERNEL_OFF; /* the start tests' helpers are scripts */
	int failed = run("pcocc_kernel_recv", test_kernel_recv) +
		     run("pcocc_kernel_take", test_kernel_take) + run("read_result stops at \"end\"", test_result_stops_at_end) +
		     run("read_result is capped", test_result_capped) +
		     run("read_log is capped", test_log_capped) +
		     run("pcocc_start closes what it opened", test_start_failures_close) +
		     run("pcocc_start with a garbled result", test_start_garbled_result) +
		     run("pcocc_start, then pcocc_stop", test_start_and_stop);
	if (failed) {
		fprintf(stderr, "spank/test_helper: %d tests failed\n", failed);
		return 1;
	}
	printf("spank/test_helper: PASS\n");
	return 0;
}
