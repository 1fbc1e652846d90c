package config

import (
	"time"

	"github.com/pcocc/pcocc/internal/imageref"
)

// UserRepo is the name of the built-in repository.
const UserRepo = "user"

// Repository is an image repository. Source is where it is defined; the
// zero Source is the built-in user repository.
type Repository struct {
	Name        string
	Path        string // absolute and clean; as written when pathErr is set
	Description string
	Source      Source
	// DropLayers is "keep_layers: false": images imported into the
	// repository keep only their squashfs, not the layer blobs that
	// 'image rebuild' and 'image export' read.
	DropLayers bool
	// Mount is "mount:", how runs mount the repository's images (one of
	// RepoMounts; "" is "auto"): runtime's mount policy reads it.
	Mount string
	// pathErr is why Path could not be expanded on this node (an unset
	// variable, no home directory); Path then holds the text as written.
	// Available reports it: the repository is unavailable, not wrong.
	pathErr error
}

// RepoMounts are the values of a repository's "mount:": auto (the
// default policy), kernel (the Slurm plugin's kernel squashfs mount where
// it is offered), unpack (the node cache) and fuse (pcocc's FUSE server).
var RepoMounts = []string{"auto", "kernel", "unpack", "fuse"}

// Module is a named set of mounts and environment entries (docs/configuration.md,
// "containers.yaml: modules").
type Module struct {
	Name        string
	Description string
	Default     bool // applied to every container unless --no-defaults
	Mounts      []Mount
	Env         []EnvEntry
	Generator   string // program whose output adds mounts and env, as written
	// GeneratorTimeout bounds the generator's run; zero means the default
	// of the caller (internal/modules).
	GeneratorTimeout time.Duration
	// Dir is the configuration directory of the defining file (the one
	// holding containers.yaml and containers.d): a relative generator path
	// is relative to it, so that a shared directory carries its programs.
	Dir    string
	Source Source
}

// Template is a container template (docs/configuration.md, "containers.yaml:
// container templates"): an image plus launch
// options, usable wherever an image name is.
type Template struct {
	Name        string
	Description string
	// Rootfs is the "rootfs" value as written; Host is true when it is
	// "host" (the host's root), else Image is its parsed reference.
	Rootfs     string
	Host       bool
	Image      imageref.Ref
	NoDefaults bool
	Modules    []ModuleRef
	Env        []EnvEntry
	Mounts     []Mount
	Source     Source
}

// ModuleRef is a module named by a template, with where it is named so an
// unknown module is reported at that place.
type ModuleRef struct {
	Name string
	At   Source
}

// EnvEntry is one env-spec string (VAR, VAR=VAL, pp(VAR)=VAL, ps(VAR)=VAL,
// re(REGEX)) kept as written: its syntax belongs to internal/envspec, which
// Load can call through WithEnvCheck.
type EnvEntry struct {
	Spec string
	At   Source
}

// Mount types.
const (
	MountBind     = "bind"
	MountSquashfs = "squashfs"
)

// Mount is one mount entry. Source and Destination are expanded ("~",
// $VAR); Destination is empty when not given (it then defaults to Source).
type Mount struct {
	Source      string
	Destination string
	Readonly    bool
	Type        string // MountBind or MountSquashfs; never empty
	Optional    bool   // skip silently when Source is missing
	// Unset lists the variables Source or Destination referenced that were
	// unset or empty: an optional mount of "$CCCSCRATCHDIR" is then skipped.
	Unset []string
	// Written is the source as written in the file ("$CCCSCRATCHDIR/x"),
	// for messages about a mount whose expansion failed.
	Written string
	At      Source
}
