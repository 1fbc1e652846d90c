package container

import (
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/mountspec"
)

// ErrNoCommand says that neither the image nor the command line gives a
// program to run.
var ErrNoCommand = errors.New("nothing to run")

// Plan makes the launch Spec from in. Errors name the option, module or
// template at fault, in one line.
func Plan(in Input) (*Spec, error) {
	if err := checkInput(in); err != nil {
		return nil, err
	}
	argv, err := planArgv(in.Image.Config.Entrypoint, in.Image.Config.Cmd, in.Options)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describeImage(in.Image), err)
	}
	mounts, err := planMounts(in.Host.Cwd, in.Layers, in.Image.HostRoot)
	if err != nil {
		return nil, err
	}
	cwd, from, err := planCwd(in.Host.Cwd, in.Image.Config.WorkingDir, in.Options.Cwd)
	if err != nil {
		return nil, err
	}
	return &Spec{
		Version:   SpecVersion,
		Image:     in.Image.Ref,
		Rootfs:    rootfsPath(in.Image),
		HostRoot:  in.Image.HostRoot,
		Writable:  in.Options.Writable,
		Mounts:    mounts,
		Env:       planEnv(in),
		Cwd:       cwd,
		CwdFrom:   from,
		Argv:      argv,
		User:      in.Host.User,
		Hostname:  in.Host.Hostname,
		RepoMount: in.Image.Mount,
	}, nil
}

// planEnv applies, over the image's environment (with the standard PATH when
// it has none), each layer's specs in precedence order. The host environment
// reaches the program only through those specs.
func planEnv(in Input) []string {
	base := slices.Clone(in.Image.Config.Env)
	if in.Image.HostRoot {
		base = slices.Clone(in.Host.Env)
	}
	if _, ok := envspec.Lookup(base, "PATH"); !ok {
		base = append(base, "PATH="+DefaultPath)
	}
	env := base
	for _, l := range in.Layers {
		env = envspec.Apply(env, in.Host.Env, l.Env...)
	}
	// Shells and many tools need HOME: give the one /etc/passwd gives, like
	// docker does, when nothing set it.
	if _, ok := envspec.Lookup(env, "HOME"); !ok && in.Host.User.Home != "" {
		env = append(env, "HOME="+in.Host.User.Home)
	}
	return env
}

// planCwd applies the working directory rule: the host's, unless the image
// sets one, unless --cwd.
func planCwd(hostCwd, imageDir, option string) (string, string, error) {
	switch {
	case option != "":
		if !path.IsAbs(option) {
			return "", "", fmt.Errorf("--cwd %q: not an absolute path", option)
		}
		return path.Clean(option), CwdOption, nil
	case imageDir != "":
		// Docker resolves a relative WORKDIR at build time; one that slipped
		// through is taken from the root, as docker does at run time.
		return path.Join("/", imageDir), CwdImage, nil
	}
	return path.Clean(hostCwd), CwdHost, nil
}

// planArgv applies the entrypoint rule (Docker's, plus --no-ep).
func planArgv(entrypoint, cmd []string, o Options) ([]string, error) {
	if o.NoEntrypoint && o.Entrypoint != nil {
		return nil, errors.New("--no-ep and --entrypoint cannot be used together")
	}
	if o.Entrypoint != nil {
		// Like docker: a new entrypoint also drops the image's CMD.
		entrypoint, cmd = nil, nil
		if *o.Entrypoint != "" {
			entrypoint = []string{*o.Entrypoint}
		}
	}
	var argv []string
	switch {
	case o.NoEntrypoint && len(o.Args) > 0:
		argv = o.Args
	case o.NoEntrypoint && len(cmd) > 0:
		argv = cmd
	case o.NoEntrypoint:
		argv = []string{"/bin/sh"}
	case len(o.Args) > 0:
		argv = append(slices.Clone(entrypoint), o.Args...)
	default:
		argv = append(slices.Clone(entrypoint), cmd...)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("%w: the image has no entrypoint and no command; give one (pcocc run IMAGE CMD [ARGS...])", ErrNoCommand)
	}
	return slices.Clone(argv), nil
}

// systemMounts are the host paths every container sees as on the host.
func systemMounts() []Mount {
	m := func(p string, optional bool) Mount {
		return Mount{Type: MountBind, Source: p, Destination: p, Optional: optional, Origin: OriginPcocc}
	}
	return []Mount{
		m("/proc", false), m("/sys", false), m("/dev", false), m("/tmp", false),
		m("/etc/resolv.conf", true), m("/etc/hosts", true),
	}
}

// planMounts returns the system mounts, then each layer's mounts in order, so
// that a later mount covers an earlier one at the same place.
func planMounts(hostCwd string, layers []Layer, hostRoot bool) ([]Mount, error) {
	var out []Mount
	if !hostRoot {
		out = systemMounts()
	}
	for _, l := range layers {
		for _, lm := range l.Mounts {
			n, err := lm.Normalize()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l.Origin, err)
			}
			src := n.Source
			if !path.IsAbs(src) {
				src = path.Join(hostCwd, src)
			}
			typ := MountBind
			if n.Type == mountspec.TypeSquashfs {
				typ = MountSquashfs
			}
			out = append(out, Mount{
				Type: typ, Source: path.Clean(src), Destination: n.Destination,
				ReadOnly: n.ReadOnly || typ == MountSquashfs, Optional: n.Optional, Origin: l.Origin,
			})
		}
	}
	return out, nil
}
