/* pcocc SPANK plugin: srun/sbatch/salloc --ctr=IMAGE and friends.
 *
 * Context        callback             as          does
 * srun, sbatch,  init_post_opt        the user    pcocc __spank check: fail before
 * salloc                                          anything is allocated
 * slurmstepd     user_init            the user    pcocc __spank start: this node's
 *                (once per node/step)             container, held by the helper
 * task           task_init            the user    join it (join.c), then Slurm execs
 * slurmstepd     exit                 root        SIGKILL the helper: the container
 *                                                 goes with it
 * --vm=NETWORK (VM clusters): vm.c
 * The batch, extern and interactive steps never run in a container: --ctr
 * given to sbatch/salloc is the default of the srun steps inside. */
#include <stdlib.h>
#include <string.h>
#include <slurm/slurm.h>

#include "pcocc_spank.h"

SPANK_PLUGIN(pcocc, 1);

struct pcocc_opts pcocc_opts;
struct pcocc_node pcocc_node;

const char *pcocc_path = "/usr/local/bin/pcocc";

static int set_str(char **dst, const char *val)
{
	free(*dst);
	*dst = strdup(val ? val : "");
	return *dst ? 0 : -1;
}

static int opt_cb(int val, const char *optarg, int remote)
{
	(void)remote;
	switch (val) {
	case 0: return set_str(&pcocc_opts.image, optarg);
	case 1: return set_str(&pcocc_opts.mount, optarg);
	case 2: return set_str(&pcocc_opts.module, optarg);
	case 3: return set_str(&pcocc_opts.env, optarg);
	case 4: pcocc_opts.no_defaults = 1; return 0;
	case 5: return set_str(&pcocc_opts.workdir, optarg);
	case 6:
		if (!optarg || !pcocc_vm_valid_net(optarg)) {
			slurm_error("pcocc: --vm: \"%s\" is not NETWORK[:PORT,...] (a letter, then up to 31 letters, digits, _ or -; then the guest ports to forward)", optarg ? optarg : "");
			return -1;
		}
		return set_str(&pcocc_opts.vm, optarg);
	}
	return -1;
}

struct spank_option spank_options[] = {
	{ "ctr", "IMAGE", "Run each task in a container of IMAGE or TEMPLATE (pcocc; empty: none)", 1, 0, opt_cb },
	{ "ctr-mount", "SPEC", "Container mounts: src=PATH,dst=PATH[,ro][,type=bind|squashfs] (':' separates several)", 1, 1, opt_cb },
	{ "ctr-module", "LIST", "Container modules, comma separated", 1, 2, opt_cb },
	{ "ctr-env", "SPEC", "Container env: VAR, VAR=VAL, re(REGEX), pp(VAR)=VAL, ps(VAR)=VAL (',' separates several)", 1, 3, opt_cb },
	{ "ctr-no-defaults", NULL, "Do not apply the default container modules", 0, 4, opt_cb },
	{ "ctr-workdir", "DIR", "Working directory in the container", 1, 5, opt_cb },
	{ "vm", "NETWORK", "Run each task as a VM of a pcocc cluster on NETWORK (pcocc alloc/batch use it)", 1, 6, opt_cb },
	SPANK_OPTIONS_TABLE_END
};

int pcocc_active(void)
{
	return pcocc_opts.image && pcocc_opts.image[0];
}

/* kernel=on|off|/dir[:/dir...]: whether steps' images may be mounted
 * with the kernel's squashfs, and from which directories (kernel.c). */
static int parse_kernel(const char *v)
{
	if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
		pcocc_kernel_mode = v[1] == 'n' ? PCOCC_KERNEL_ON : PCOCC_KERNEL_OFF;
		return 0;
	}
	for (const char *d = v; *d; d += strcspn(d, ":"), d += *d == ':')
		if (*d != '/')
			return -1;
	pcocc_kernel_mode = PCOCC_KERNEL_DIRS;
	pcocc_kernel_dirs = (char *)v;
	return v[0] ? 0 : -1;
}

/* Plugstack arguments: pcocc=/path/to/pcocc, kernel=on|off|DIRS,
 * pcocc-vm=/path/to/pcocc-vm, etcd-password=/root/only/file and
 * conf-dir=/system/config/dir (vm.c). */
static int parse_args(int ac, char **av)
{
	for (int i = 0; i < ac; i++) {
		if (strncmp(av[i], "pcocc=", 6) == 0 && av[i][6] == '/') {
			pcocc_path = av[i] + 6;
			continue;
		}
		if (strncmp(av[i], "kernel=", 7) == 0 && parse_kernel(av[i] + 7) == 0)
			continue;
		if (strncmp(av[i], "pcocc-vm=", 9) == 0 && av[i][9] == '/') {
			pcocc_vm_path = av[i] + 9;
			continue;
		}
		if (strncmp(av[i], "conf-dir=", 9) == 0 && av[i][9] == '/') {
			pcocc_vm_conf_dir = av[i] + 9;
			continue;
		}
		if (strncmp(av[i], "etcd-password=", 14) == 0 && av[i][14] == '/') {
			pcocc_vm_etcd_password = av[i] + 14;
			continue;
		}
		slurm_error("pcocc: bad plugstack argument \"%s\" (expected pcocc=/absolute/path, kernel=on|off|/dir[:/dir...], pcocc-vm=, etcd-password= or conf-dir=/absolute/path)", av[i]);
		return -1;
	}
	return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	if (parse_args(ac, av) < 0)
		return -1;
	/* sbatch and salloc ignore the static table: register in their context. */
	if (spank_context() == S_CTX_ALLOCATOR)
		for (struct spank_option *o = spank_options; o->name; o++)
			if (spank_option_register(sp, o) != ESPANK_SUCCESS)
				return -1;
	return 0;
}

/* A step of its own: not the batch script, extern or interactive step. */
static int user_step(spank_t sp)
{
	uint32_t step;
	if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS)
		return 0;
	return step != SLURM_BATCH_SCRIPT && step != SLURM_EXTERN_CONT &&
	       step != SLURM_INTERACTIVE_STEP && step != SLURM_PENDING_STEP;
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	(void)ac; (void)av;
	spank_context_t c = spank_context();
	if ((c == S_CTX_LOCAL || c == S_CTX_ALLOCATOR) && pcocc_active())
		return pcocc_check(sp);
	/* root, in slurmstepd, before the tasks: the VM network (vm.c) */
	if (c == S_CTX_REMOTE && pcocc_opts.vm && user_step(sp))
		return pcocc_vm_create(sp);
	return 0;
}

int slurm_spank_user_init(spank_t sp, int ac, char **av)
{
	(void)ac; (void)av;
	if (!spank_remote(sp) || !pcocc_active() || !user_step(sp))
		return 0;
	return pcocc_start(sp);
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)ac; (void)av;
	if (!spank_remote(sp) || (!pcocc_node.helper && !pcocc_node.failed))
		return 0;
	return pcocc_join(sp);
}

int slurm_spank_task_init_privileged(spank_t sp, int ac, char **av)
{
	(void)ac; (void)av;
	if (!spank_remote(sp) || !pcocc_opts.vm || !user_step(sp))
		return 0;
	return pcocc_vm_task(sp);
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)ac; (void)av;
	if (spank_remote(sp)) {
		pcocc_stop();
		pcocc_vm_delete();
	}
	return 0;
}
