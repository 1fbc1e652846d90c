// Package runtime executes a container launch Spec as the calling user,
// without privilege: user and mount namespaces, the image, the mounts,
// pivot_root, then the program. The container side (the init) is
// internal/containerinit, run as pcocc-init (cmd/pcocc-init: it starts in a
// millisecond, against four for pcocc) or as pcocc itself.
//
// The image is, by default (auto), unpacked once per node into a private
// cache and bind-mounted (internal/unpack: no FUSE at all), or, for large
// images or on request, served by pcocc's own FUSE server (internal/sqfuse:
// kernel-like I/O thanks to caching), run by the launcher itself in
// goroutines, or by squashfuse_ll; docs/benchmarks.md has the numbers.
//
// # Processes and namespaces
//
// Three processes, two nested user namespaces (unprivileged mode):
//
//	launcher (pcocc run, host)         init (pcocc-init)                      program
//	───────────────────────────        ──────────────────────────             ───────
//	preflight: image, sources;
//	unpack the image into the node
//	cache if needed (held: shared lock)
//	clone(NEWUSER|NEWNS) + exec ────▶  outer userns: uid 0 = you (map 0→uid),
//	  maps 0→uid, 0→gid, setgroups       all capabilities in it; own mount ns;
//	  deny, Pdeathsig KILL,              SIG_IGN for the group's signals
//	  GOMAXPROCS=1
//	write config (fd 3), close ──────▶ read config (fd 3)
//	                                   make / private (nothing reaches the host)
//	                                   clone the bind sources (open_tree)
//	                                   tmpfs on /tmp: scratch, never on disk
//	                                   the image on scratch: a read-only clone
//	                                     of its unpacked tree, or /dev/fuse
//	serve the image (sqfuse) ◀──────────   mounted and sent over fd 5
//	                                   overlay (upper in scratch) = new root;
//	                                   mount points, /etc/passwd, /etc/group
//	                                   move the clones in; read-only root
//	                                   pivot_root; detach old root
//	                                   no_new_privs
//	                                   clone(NEWUSER) + exec ────────────────▶ inner userns: uid = you
//	                                     map uid→0, gid→0, Pdeathsig KILL       (map uid→outer 0), no
//	   ◀──────────────── {"pid":N}  ◀─ status (fd 4), close                    capability, NNP,
//	forward signals to N                wait for the program                    default signals
//	   ◀──────────────── exit status ◀─ exit with the program's status         runs, exits
//	exit with it                          (128+N on signal N)
//
// On a failure before the program runs, init writes {"error":…,"code":…} on
// fd 4 and exits with that code (125 set-up, 126 not executable, 127 not
// found); warnings ({"warning":…}) travel the same way.
//
// # Why two user namespaces
//
// An unprivileged user may map only their own uid (and gid, with setgroups
// denied). Mounting needs CAP_SYS_ADMIN in the namespace, which a process
// mapped to a non-zero uid loses at execve. So init is uid 0 of an outer
// namespace (it is still you on the host: 0 maps to your uid) and does every
// mount there; the program then runs in an inner namespace where your uid maps
// to the outer 0, so it is your uid again, with no capability at all. A side
// effect worth knowing: files that belong to root in the image belong to the
// outer 0, which is you, so inside the container they appear as yours (as
// with Charliecloud); files of other image users appear as nobody (served by
// FUSE) or as yours too (unpacked: the cache's files are all yours).
//
// # Running as root
//
// When the caller is root, init gets a mount namespace only, mounts the image
// with the kernel's squashfs driver through an autoclear loop device (faster
// than FUSE), and the program runs as nobody (uid and gid 65534, no
// supplementary group) with an empty capability bounding set and
// no_new_privs: no capability, and not the owner of what root owns on the
// host (uid 0 without capability could still write /proc/sys and root's
// files under the shared /tmp). See programSysProcAttr in containerinit.
//
// # PID namespace: none
//
// The host PID namespace is shared (MPI's shared-memory transports and tools
// that look at other processes need it). Without a PID namespace nothing kills
// the container's processes for free, so lifetimes are chained with parent
// death signals: the launcher's death kills init (and ends the FUSE
// connection it serves), init's death kills the program (and squashfuse_ll).
// When the program exits, init exits. Processes the program left running in
// the background lose the image when it ends.
//
// # Nothing left behind
//
// Every mount lives in the container's private mount namespace, which the
// kernel tears down when its last process exits; the scratch directories live
// in a tmpfs inside it. There is nothing on the host to remove, so a SIGKILL
// of the launcher at any moment leaves nothing: init dies of its parent death
// signal, the FUSE connection with the launcher, and the namespace goes with
// them. The node's cache of unpacked images is kept on purpose; an unpack cut
// short leaves a temporary directory there that the next unpack removes.
//
// # Signals
//
// The launcher forwards SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 and SIGALRM to the
// program. SIGINT and SIGQUIT are forwarded too, except when the launcher is
// in the foreground of its terminal: the terminal then sends them to the whole
// process group, program included, and forwarding would deliver them twice.
// Init ignores them all (it must outlive the program; the program itself
// starts with default dispositions). Job control (Ctrl-Z, fg) works because
// the three processes share the launcher's process group.
package runtime
