// Package container plans a container launch: it turns the image's
// configuration, the host's context, the layers of options (default modules,
// template, modules named on the command line, the command line itself) and
// the run options into a Spec, a complete description of the launch that the
// executor (internal/runtime) carries out and `pcocc run --dry-run` prints.
//
// Planning is pure: no file system access, no system call. What only the
// executor can know (does the working directory exist in the image, does a
// mount source exist on the host) is recorded in the Spec as a rule to apply.
package container

// SpecVersion is the version of the Spec layout.
const SpecVersion = 1

// Spec is a complete, JSON-serialisable container launch plan.
type Spec struct {
	Version int    `json:"version"`
	Image   string `json:"image"`  // the image reference, for messages
	Rootfs  string `json:"rootfs"` // absolute path of the image's squashfs file
	// HostRoot: the root is a recursive bind of the host's "/" (Rootfs is
	// empty); /proc, /dev, /tmp... come with it, so no system mount is
	// planned, and mount points cannot be created (that would be on the host).
	HostRoot bool `json:"hostRoot,omitempty"`
	// Writable puts a tmpfs-backed writable layer over the image; what is
	// written there is lost at exit.
	Writable bool     `json:"writable"`
	Mounts   []Mount  `json:"mounts"` // in mount order: later ones cover earlier ones
	Env      []string `json:"env"`    // the program's whole environment
	Cwd      string   `json:"cwd"`
	// CwdFrom says where Cwd came from (CwdHost, CwdImage or CwdOption). A
	// directory missing in the container falls back to "/" with a warning,
	// except one given by --cwd, which is an error.
	CwdFrom  string   `json:"cwdFrom"`
	Argv     []string `json:"argv"`
	User     User     `json:"user"`
	Hostname string   `json:"hostname,omitempty"` // the host's: the UTS namespace is shared
	// RepoMount is the image's repository's "mount:" setting (Image.Mount).
	RepoMount string `json:"repoMount,omitempty"`
}

// Where the working directory comes from.
const (
	CwdHost   = "host"
	CwdImage  = "image"
	CwdOption = "option"
)

// Mount types in a Spec. A bind mount is always recursive (the submounts of
// the source come with it, read-only too when the mount is).
const (
	MountBind     = "bind"
	MountSquashfs = "squashfs"
)

// Mount is one resolved mount of a Spec.
type Mount struct {
	Type        string `json:"type"`
	Source      string `json:"source"`      // absolute host path
	Destination string `json:"destination"` // absolute, clean container path
	ReadOnly    bool   `json:"readonly,omitempty"`
	// Optional mounts are skipped when their source does not exist.
	Optional bool   `json:"optional,omitempty"`
	Origin   string `json:"origin"` // "pcocc", "command line", `module "x"`, ...
}

// User is who the program runs as: always the calling user.
type User struct {
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	Groups []int  `json:"groups,omitempty"` // supplementary groups on the host
	Name   string `json:"name"`
	Group  string `json:"group"` // name of the primary group
	Home   string `json:"home"`
	Shell  string `json:"shell,omitempty"` // login shell on the host
}

// OriginPcocc marks the mounts every container gets.
const OriginPcocc = "pcocc"

// DefaultPath is PATH when neither the image nor any option sets it.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
