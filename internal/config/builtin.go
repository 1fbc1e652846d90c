package config

// HostPassthrough is the built-in template whose root is the host's root
// file system (docs/modules.md, "The host's root: host-passthrough").
const HostPassthrough = "host-passthrough"

// builtinTemplates are defined below every configuration layer: a site or a
// user may redefine them, as any other name.
func builtinTemplates() []def[Template] {
	t := Template{
		Name:        HostPassthrough,
		Description: "the host's root file system, with mounts and modules applied",
		Rootfs:      "host",
		Host:        true,
	}
	return []def[Template]{{name: t.Name, layer: -1, val: t}}
}
