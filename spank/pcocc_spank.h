/* Shared state of the pcocc SPANK plugin. The plugin only parses options,
 * runs the pcocc helper and joins namespaces: everything else is Go
 * (internal/cli/slurm.go). See README.md. */
#ifndef PCOCC_SPANK_H
#define PCOCC_SPANK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <slurm/spank.h>

/* The options, as the user wrote them (NULL: not given). */
struct pcocc_opts {
	char *image, *mount, *module, *env, *workdir;
	char *vm;	/* --vm=NETWORK (vm.c) */
	int no_defaults;
};

/* This node's container of the step, as the helper described it. */
struct pcocc_node {
	pid_t helper, init;
	int stop;	/* write end of the helper's stop pipe: closing it ends the container */
	char *cwd;
	int cwd_strict;	/* --ctr-workdir: no fallback to "/" */
	char **env;	/* NAME=VALUE */
	size_t nenv;
	char **keep;	/* task variables that win: "PREFIX*" or "NAME" */
	size_t nkeep;
	char **dflt;	/* NAME=VALUE set when the task has no NAME */
	size_t ndflt;
	char *log;	/* the helper's messages: the error, or warnings */
	int failed;
};

/* The plugstack's kernel= argument (kernel.c). */
enum { PCOCC_KERNEL_OFF, PCOCC_KERNEL_ON, PCOCC_KERNEL_DIRS };
extern int pcocc_kernel_mode;
extern char *pcocc_kernel_dirs;
extern const char *const pcocc_kernel_dir;
int pcocc_kernel_recv(int sock);
int pcocc_kernel_take(int fd, const char **err);
int pcocc_kernel_stage(int fd, uid_t uid, gid_t gid, const char **what);

extern struct pcocc_opts pcocc_opts;
extern struct pcocc_node pcocc_node;
extern const char *pcocc_path;

int pcocc_active(void);
int pcocc_check(spank_t sp);
int pcocc_start(spank_t sp);
int pcocc_join(spank_t sp);
void pcocc_stop(void);

/* The VM path (vm.c): --vm=NETWORK. */
extern const char *pcocc_vm_path, *pcocc_vm_etcd_password, *pcocc_vm_conf_dir;
int pcocc_vm_valid_net(const char *s);
int pcocc_vm_create(spank_t sp);
int pcocc_vm_task(spank_t sp);
void pcocc_vm_delete(void);

#endif
