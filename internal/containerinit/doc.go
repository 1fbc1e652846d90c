// Package containerinit is the container's init: the body of pcocc-init (and
// of `pcocc __pcocc_init`, InitArg, when pcocc-init is not installed), which
// the launcher (internal/runtime) starts in a new mount namespace, and for an
// unprivileged caller in a new user namespace where uid 0 is the caller (a
// root caller gets the kernel's squashfs instead: Config.Kernel). It imports
// nothing heavy, so that it starts fast.
//
// The launcher hands it descriptors (protocol.go): the Config (the plan of
// internal/container and what the launcher found out) to read on fd 3, a
// pipe for StatusMsg lines on fd 4, and, when the launcher serves the image
// itself, a socket and a log for that server. Init then:
//
//   - builds the root (rootfs.go): every mount private, a scratch tmpfs for
//     its own directories, the image as Config.Image says (an unpacked tree
//     bind-mounted, or the squashfs through the launcher's FUSE server, a
//     server of its own, or the kernel) under an overlay whose upper layer
//     is in the tmpfs, the mounts of the plan (their targets resolved inside
//     the root, never through the image's links onto the host: targets.go),
//     /etc/passwd and /etc/group (passwd.go), then pivot_root; or the host's
//     root for host-passthrough (hostroot.go);
//   - starts the program (program.go) with no_new_privs, unprivileged in a
//     nested user namespace where the caller is their own uid again (as root
//     with an empty capability bounding set), and reports its pid, or the
//     failure with its exit code (internal/exitcode: 125, 126, 127);
//   - forwards nothing itself: it ignores the signals sent to the process
//     group (signals.go), which the launcher forwards to the program, and
//     exits with the program's status.
//
// With Config.Hold it runs no program: it reports its pid and waits, for
// Slurm tasks to join the container. Everything it mounts lives in the
// container's mount namespace only, so nothing on the host needs cleaning
// when any of these processes dies. docs/running.md ("How it works") says the
// same for users; internal/runtime/doc.go describes the launcher's side.
package containerinit
