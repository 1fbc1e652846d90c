package container

import (
	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/mountspec"
)

// Input is everything a launch plan is made from.
type Input struct {
	Image Image
	Host  Host
	// Layers of env specs and mounts, lowest precedence first: default
	// modules, template, modules named on the command line, then the command
	// line's own --env and --mount.
	Layers  []Layer
	Options Options
}

// Image is the image to run.
type Image struct {
	Ref      string // as the user named it
	Squashfs string // absolute path of its squashfs file; empty with HostRoot
	Config   imagemeta.Config
	// HostRoot runs on the host's root file system instead of an image
	// (the host-passthrough template): no entrypoint, and the host's
	// environment as the base one, since the host is the "image".
	HostRoot bool
	// Mount is its repository's "mount:" setting (config.RepoMounts; ""
	// when none, or not from a repository): the executor's mount policy
	// reads it (Spec.RepoMount).
	Mount string
}

// Host is the context of the launch on the host.
type Host struct {
	Env      []string // the launcher's environment, "NAME=VALUE"
	Cwd      string   // the launcher's working directory (absolute)
	Hostname string
	User     User
}

// Layer is one source of env specs and mounts.
type Layer struct {
	Origin string // for messages: "command line", `module "x"`, `template "t"`
	Env    []envspec.Spec
	Mounts []mountspec.Mount
}

// OriginCommandLine names the layer of --env and --mount options.
const OriginCommandLine = "command line"

// Options are the run options that are not layered.
type Options struct {
	Cwd          string  // --cwd; empty: not given
	NoEntrypoint bool    // --no-ep
	Entrypoint   *string // --entrypoint; nil: not given, "": no entrypoint
	Writable     bool    // --writable
	// Args are the program and its arguments: the words after the image
	// name, then the words after "--".
	Args []string
}
