/* The VM path of the pcocc SPANK plugin: srun --vm=NETWORK (issue 15).
 *
 * Context      callback                as    does
 * slurmstepd   init_post_opt (remote)  root  pcocc-vm __vm-setup create, once per
 *              (once per node/step)          node and step, before any task: the
 *                                            node's part of the cluster's network
 * task         task_init_privileged    root  PCOCC_VM_* from task-N.env (N: the
 *                                            global task id = the VM's index)
 * slurmstepd   exit (remote)           root  pcocc-vm __vm-setup delete
 * Every value handed to pcocc-vm comes from Slurm (spank items), except the
 * validated --vm name and ports and the user's etcd credential (PCOCC_ETCD_CRED of the
 * job's environment, 32 hex digits), which goes over stdin, never argv.
 * The node list is read by pcocc-vm from slurmctld (scontrol), as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <slurm/slurm.h>

#include "pcocc_exit.h"
#include "pcocc_spank.h"


const char *pcocc_vm_path = "/usr/local/libexec/pcocc/pcocc-vm";
const char *pcocc_vm_etcd_password;
const char *pcocc_vm_conf_dir;
static int vm_created;
static int vm_failed; /* the node's create failed: no task may run */
static char vm_err[640]; /* why, for the tasks' standard error */
static char vm_job[16], vm_node[16];

/* --vm=NETWORK[:PORTS]: NETWORK is ^[a-zA-Z][a-zA-Z0-9_-]{0,31}$, PORTS a
 * comma-separated list of the guest ports (besides the network's vm-port)
 * that every VM of the cluster gets a reverse-NAT port for: digits and
 * commas only here, each port checked by pcocc-vm (1-65535, distinct, at
 * most 8). */
#define VM_PORTS_MAX 47
int pcocc_vm_valid_net(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (n < 1 || n > 32 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", s[i]))
			return 0;
	if (!colon)
		return 1;
	size_t m = strlen(colon + 1);
	return m >= 1 && m <= VM_PORTS_MAX && strspn(colon + 1, "0123456789,") == m;
}

/* split_vm_opt: the validated --vm value's network name and port list. */
static void split_vm_opt(const char *opt, char net[33], char ports[VM_PORTS_MAX + 1])
{
	const char *colon = strchr(opt, ':');
	size_t n = colon ? (size_t)(colon - opt) : strlen(opt);
	snprintf(net, 33, "%.*s", (int)n, opt);
	snprintf(ports, VM_PORTS_MAX + 1, "%s", colon ? colon + 1 : "");
}

static int valid_cred(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* run pcocc-vm __vm-setup ARGV... with stdin, the first line of its
 * standard error in err; returns its exit status (-1: not run). */
static int run_setup(char *const argv[], const char *stdin_data, char *err, size_t errlen)
{
	int in[2], out[2];
	err[0] = 0;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]); close(in[1]);
		return -1;
	}
	/* stdin written whole before the fork (a few bytes: the pipe holds
	 * them; no SIGPIPE if the child dies early) */
	size_t sl = stdin_data ? strlen(stdin_data) : 0;
	if (write(in[1], stdin_data ? stdin_data : "", sl) != (ssize_t)sl) {
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		return -1;
	}
	close(in[1]);
	/* prepared before the fork (slurmstepd is multi-threaded: the child
	 * calls only async-signal-safe functions). slurmstepd's own
	 * environment (root's, not the job's) says where scontrol finds
	 * slurm.conf. */
	char conf[4200], sconf[4200];
	const char *sc = getenv("SLURM_CONF");
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL, NULL, NULL };
	int e = 1;
	if (pcocc_vm_conf_dir && snprintf(conf, sizeof conf, "PCOCC_SYSTEM_CONF_DIR=%s", pcocc_vm_conf_dir) < (int)sizeof conf)
		envp[e++] = conf;
	if (sc && snprintf(sconf, sizeof sconf, "SLURM_CONF=%s", sc) < (int)sizeof sconf)
		envp[e++] = sconf;
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]); close(out[0]); close(out[1]);
		return -1;
	}
	if (pid == 0) {
		/* slurmstepd signals every process it started (srun's forwarded
		 * SIGINT, SIGTERM, then SIGKILL after KillWait), this one too,
		 * while the exit callback runs: delete would die half done. A
		 * blocked signal is not enough: the Go runtime unblocks SIGINT,
		 * SIGTERM and SIGHUP at its start. An ignored SIGINT or SIGHUP
		 * stays ignored across execve and in Go; SIGTERM is ignored
		 * until pcocc-vm's runtime installs its handler, and again from
		 * delete's first step (signal.Ignore). */
		struct sigaction ign;
		memset(&ign, 0, sizeof ign);
		ign.sa_handler = SIG_IGN;
		sigemptyset(&ign.sa_mask);
		sigaction(SIGINT, &ign, NULL);
		sigaction(SIGHUP, &ign, NULL);
		sigaction(SIGTERM, &ign, NULL);
		sigset_t ss;
		sigemptyset(&ss);
		sigaddset(&ss, SIGTERM);
		sigaddset(&ss, SIGINT);
		sigaddset(&ss, SIGHUP);
		sigprocmask(SIG_UNBLOCK, &ss, NULL); /* ignored, not pending */
		setsid();
		dup2(in[0], 0);
		dup2(out[1], 2);
		dup2(out[1], 1);
		execve(pcocc_vm_path, argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	size_t n = 0;
	ssize_t r;
	char buf[512];
	/* drain it all (the child must not block), keep the start */
	while ((r = read(out[0], buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)) {
		size_t k = r > 0 ? (size_t)r : 0;
		if (k > errlen - 1 - n)
			k = errlen - 1 - n;
		memcpy(err + n, buf, k);
		n += k;
	}
	err[n] = 0;
	err[strcspn(err, "\n")] = 0; /* its first line */
	close(out[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			if (!err[0])
				snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(st))
		return WEXITSTATUS(st) == 127 && !err[0] ? -1 : WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		if (!err[0])
			snprintf(err, errlen, "pcocc-vm killed by signal %d", WTERMSIG(st));
		return -2;
	}
	return -1;
}

static int item_u32(spank_t sp, spank_item_t item, uint32_t *v)
{
	return spank_get_item(sp, item, v) == ESPANK_SUCCESS ? 0 : -1;
}

/* the global task ids of this node's tasks, comma separated */
static int local_tasks(spank_t sp, char *buf, size_t len)
{
	uint32_t n, g;
	size_t off = 0;
	if (item_u32(sp, S_JOB_LOCAL_TASK_COUNT, &n) < 0 || n == 0)
		return -1;
	buf[0] = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (spank_get_item(sp, S_JOB_LOCAL_TO_GLOBAL_ID, i, &g) != ESPANK_SUCCESS)
			return -1;
		int w = snprintf(buf + off, len - off, "%s%u", i ? "," : "", g);
		if (w < 0 || (size_t)w >= len - off)
			return -1;
		off += w;
	}
	return 0;
}

int pcocc_vm_create(spank_t sp)
{
	uint32_t job, step, node, total;
	uid_t uid;
	gid_t gid;
	char cred[64], tasks[4096], s_step[16], s_uid[16], s_gid[16], s_total[16], err[512];
	char net[33], ports[VM_PORTS_MAX + 1];
	if (!pcocc_vm_etcd_password) {
		slurm_error("pcocc: --vm: the plugstack line names no etcd-password=PATH (see docs/vm-slurm-admin.md)");
		return -1;
	}
	if (item_u32(sp, S_JOB_ID, &job) < 0 || item_u32(sp, S_JOB_STEPID, &step) < 0 ||
	    item_u32(sp, S_JOB_NODEID, &node) < 0 || item_u32(sp, S_JOB_TOTAL_TASK_COUNT, &total) < 0 ||
	    spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS || local_tasks(sp, tasks, sizeof tasks) < 0) {
		slurm_error("pcocc: --vm: the step's ids are not available from Slurm");
		return -1;
	}
	if (spank_getenv(sp, "PCOCC_ETCD_CRED", cred, sizeof cred) != ESPANK_SUCCESS || !valid_cred(cred)) {
		slurm_error("pcocc: --vm: PCOCC_ETCD_CRED is not set to 32 hex digits (run VM clusters with pcocc alloc or pcocc batch)");
		return -1;
	}
	snprintf(vm_job, sizeof vm_job, "%u", job);
	snprintf(vm_node, sizeof vm_node, "%u", node);
	snprintf(s_step, sizeof s_step, "%u", step);
	snprintf(s_uid, sizeof s_uid, "%u", (unsigned)uid);
	snprintf(s_gid, sizeof s_gid, "%u", (unsigned)gid);
	snprintf(s_total, sizeof s_total, "%u", total);
	strcat(cred, "\n");
	split_vm_opt(pcocc_opts.vm, net, ports);
	char *argv[] = { "pcocc-vm", "__vm-setup", "create", "--job", vm_job, "--step", s_step, "--uid", s_uid,
			 "--gid", s_gid, "--node-id", vm_node, "--tasks", tasks, "--total", s_total,
			 "--network", net, "--etcd-password", (char *)pcocc_vm_etcd_password, NULL, NULL, NULL };
	if (ports[0]) {
		size_t k = sizeof argv / sizeof argv[0] - 3;
		argv[k] = "--ports";
		argv[k + 1] = ports;
	}
	vm_created = 1; /* even a failed create may have left keys: delete at exit */
	int rc = run_setup(argv, cred, err, sizeof err);
	memset(cred, 0, sizeof cred);
	if (rc != 0) {
		vm_failed = 1;
		snprintf(vm_err, sizeof vm_err, "pcocc: --vm=%s: %s", pcocc_opts.vm,
			 err[0] ? err : rc < 0 ? "cannot run pcocc-vm" : "pcocc-vm failed");
		slurm_error("%s", vm_err);
		return -1;
	}
	return 0;
}

void pcocc_vm_delete(void)
{
	char err[512];
	if (!vm_created)
		return;
	vm_created = 0;
	char *argv[] = { "pcocc-vm", "__vm-setup", "delete", "--job", vm_job, "--node-id", vm_node,
			 "--etcd-password", (char *)pcocc_vm_etcd_password, NULL };
	/* SIGTERM can still reach pcocc-vm before its runtime ignores it (see
	 * run_setup): a delete killed by a signal is run again, from where
	 * the last one stopped (delete is idempotent), a few times. */
	int rc = -2;
	for (int i = 0; i < 3 && rc == -2; i++) {
		err[0] = 0;
		rc = run_setup(argv, NULL, err, sizeof err);
	}
	if (rc != 0)
		slurm_error("pcocc: --vm: delete: %s", err);
}

/* the task's PCOCC_VM_* from the file create wrote (root-owned) */
int pcocc_vm_task(spank_t sp)
{
	uint32_t job, step, task;
	char path[256], line[512];
	/* The plugstack line may say "optional", and then slurmstepd runs the
	 * tasks whatever the callbacks return: a task without its VM's network
	 * ends here, in the task's process, before the user's program. */
	if (vm_failed) {
		/* slurmstepd's own log has it; the user sees it here */
		slurm_error("%s", vm_err);
		_exit(PCOCC_EXIT_SETUP);
	}
	if (item_u32(sp, S_JOB_ID, &job) < 0 || item_u32(sp, S_JOB_STEPID, &step) < 0 ||
	    item_u32(sp, S_TASK_GLOBAL_ID, &task) < 0)
		return -1;
	snprintf(path, sizeof path, "/run/pcocc/vm/%u.%u/task-%u.env", job, step, task);
	FILE *f = fopen(path, "re");
	if (!f) {
		slurm_error("pcocc: --vm: %s: %s", path, strerror(errno));
		_exit(PCOCC_EXIT_SETUP);
	}
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *eq = strchr(line, '=');
		if (!eq || strncmp(line, "PCOCC_VM_", 9) != 0 ||
		    strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != (size_t)(eq - line)) {
			slurm_error("pcocc: --vm: %s: bad line", path);
			rc = -1;
			break;
		}
		*eq = 0;
		if (spank_setenv(sp, line, eq + 1, 1) != ESPANK_SUCCESS)
			rc = -1;
	}
	fclose(f);
	return rc;
}
