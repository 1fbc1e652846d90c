/* Tests of vm.c: the --vm name check, and __vm-setup create run with the
 * ids from Slurm, the credential on stdin (never argv), its first error
 * line reported, signals that would cut it short ignored, against a
 * stand-in pcocc-vm (a shell script). */
#include "vm.c"

#include <stdarg.h>
#include <sys/stat.h>

struct pcocc_opts pcocc_opts;
static char last_error[1024];
static const char *cred_env;
static int fails;

spank_err_t spank_get_item(spank_t sp, spank_item_t item, ...)
{
	(void)sp;
	va_list ap;
	va_start(ap, item);
	switch (item) {
	case S_JOB_ID: *va_arg(ap, uint32_t *) = 42; break;
	case S_JOB_STEPID: *va_arg(ap, uint32_t *) = 3; break;
	case S_JOB_NODEID: *va_arg(ap, uint32_t *) = 1; break;
	case S_JOB_TOTAL_TASK_COUNT: *va_arg(ap, uint32_t *) = 4; break;
	case S_JOB_LOCAL_TASK_COUNT: *va_arg(ap, uint32_t *) = 2; break;
	case S_JOB_UID: *va_arg(ap, uid_t *) = 1001; break;
	case S_JOB_GID: *va_arg(ap, gid_t *) = 1002; break;
	case S_JOB_LOCAL_TO_GLOBAL_ID: {
		uint32_t l = va_arg(ap, uint32_t);
		*va_arg(ap, uint32_t *) = l + 2;
		break;
	}
	default: va_end(ap); return ESPANK_ERROR;
	}
	va_end(ap);
	return ESPANK_SUCCESS;
}

spank_err_t spank_getenv(spank_t sp, const char *var, char *buf, int len)
{
	(void)sp;
	if (strcmp(var, "PCOCC_ETCD_CRED") != 0 || !cred_env)
		return ESPANK_ENV_NOEXIST;
	snprintf(buf, len, "%s", cred_env);
	return ESPANK_SUCCESS;
}

spank_err_t spank_setenv(spank_t sp, const char *var, const char *val, int overwrite)
{
	(void)sp; (void)var; (void)val; (void)overwrite;
	return ESPANK_SUCCESS;
}

void slurm_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
}

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	fails += !ok;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/pcocc-test-vm-XXXXXX", script[256], args[256], in[256], cmd[1024];
	if (!mkdtemp(dir))
		return 1;
	snprintf(script, sizeof script, "%s/pcocc-vm", dir);
	snprintf(args, sizeof args, "%s/args", dir);
	snprintf(in, sizeof in, "%s/stdin", dir);
	FILE *f = fopen(script, "w");
	fprintf(f, "#!/bin/sh\necho \"$*\" >%s\ncat >%s\nenv | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' | grep -c . >>%s\n"
		   "grep '^SigIgn:' /proc/$$/status >>%s\n"
		   "[ \"$3\" = --job ] && [ -n \"$FAIL\" ] && { echo \"bad thing\" >&2; echo second >&2; exit 1; }\n"
		   "[ -f %s/fail ] && { echo 'bad thing' >&2; echo second >&2; exit 1; }\nexit 0\n", args, in, args, args, dir);
	fclose(f);
	chmod(script, 0755);
	pcocc_vm_path = script;

	check(pcocc_vm_valid_net("cluster") && pcocc_vm_valid_net("a") && pcocc_vm_valid_net("N_1-x"), "valid names");
	check(!pcocc_vm_valid_net("") && !pcocc_vm_valid_net("1net") && !pcocc_vm_valid_net("../x") &&
	      !pcocc_vm_valid_net("a b") && !pcocc_vm_valid_net("abcdefghijabcdefghijabcdefghijabc"), "invalid names");
	check(pcocc_vm_valid_net("cluster:80") && pcocc_vm_valid_net("c:80,443,8080"), "valid names with ports");
	check(!pcocc_vm_valid_net("cluster:") && !pcocc_vm_valid_net(":80") && !pcocc_vm_valid_net("c:80 443") &&
	      !pcocc_vm_valid_net("c:80:81") && !pcocc_vm_valid_net("c:-1") && !pcocc_vm_valid_net("c:80;rm") &&
	      !pcocc_vm_valid_net("c:111111111111111111111111111111111111111111111111"), "invalid ports");

	pcocc_opts.vm = "cluster";
	check(pcocc_vm_create(NULL) < 0 && strstr(last_error, "etcd-password"), "no etcd-password= argument");
	pcocc_vm_etcd_password = "/etc/pw";
	check(pcocc_vm_create(NULL) < 0 && strstr(last_error, "PCOCC_ETCD_CRED"), "no credential");
	cred_env = "0123456789ABCDEF0123456789abcdef";
	check(pcocc_vm_create(NULL) < 0 && strstr(last_error, "PCOCC_ETCD_CRED"), "credential not lowercase hex");
	cred_env = "0123456789abcdef0123456789abcdef";
	check(pcocc_vm_create(NULL) == 0, "create runs");
	char *a = slurp(args);
	check(strncmp(a, "__vm-setup create --job 42 --step 3 --uid 1001 --gid 1002 --node-id 1 --tasks 2,3 --total 4 --network cluster --etcd-password /etc/pw\n", 123) == 0, "argv: Slurm's ids only");
	check(!strstr(a, cred_env), "no credential in argv");
	pcocc_opts.vm = "cluster:80,443";
	check(pcocc_vm_create(NULL) == 0 && strstr(slurp(args), "--network cluster --etcd-password /etc/pw --ports 80,443\n"), "argv: the ports apart");
	pcocc_opts.vm = "cluster";
	check(strstr(a, "\n1\n") != NULL || strstr(a, "\n2\n") != NULL, "a clean environment (PATH, maybe SLURM_CONF)");
	check(strcmp(slurp(in), "0123456789abcdef0123456789abcdef\n") == 0, "credential on stdin");
	/* slurmstepd's signals to the step's processes must not cut a setup
	 * short: SIGHUP, SIGINT and SIGTERM ignored in pcocc-vm from its start */
	char *ign = strstr(slurp(args), "SigIgn:");
	unsigned long long mask = ign ? strtoull(ign + 7, NULL, 16) : 0;
	check((mask & 0x4003) == 0x4003, "SIGHUP, SIGINT and SIGTERM ignored in pcocc-vm");
	snprintf(cmd, sizeof cmd, "%s/fail", dir);
	fclose(fopen(cmd, "w"));
	check(pcocc_vm_create(NULL) < 0 && strcmp(last_error, "pcocc: --vm=cluster: bad thing") == 0, last_error);
	pcocc_vm_path = "/nonexistent/pcocc-vm";
	check(pcocc_vm_create(NULL) < 0 && strcmp(last_error, "pcocc: --vm=cluster: cannot run pcocc-vm") == 0, last_error);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fails++;
	printf("spank/test_vm: %s\n", fails ? "FAIL" : "PASS");
	return fails != 0;
}
