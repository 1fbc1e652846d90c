// Package cloudinit builds a VM's cloud-init NoCloud seed, an ISO 9660
// image with volume id "cidata" holding meta-data and user-data, in Go (no
// genisoimage). pcocc's own cloud-config (hostname, the user and their
// SSH key, the host key) is merged with the template's user-data: a
// cloud-config is merged key by key, anything else (a shell script,
// #include) is sent beside it as a MIME multipart message.
package cloudinit

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/kdomanski/iso9660"
)

// VolumeID is the label cloud-init's NoCloud datasource looks for.
const VolumeID = "cidata"

// Seed is what one VM is told at first boot.
type Seed struct {
	InstanceID string // a new one makes cloud-init configure the VM again
	Hostname   string
	// User is created with passwordless sudo and AuthorizedKeys; empty: the
	// keys go to the image's default user only.
	User           string
	AuthorizedKeys []string
	// HostKeyPrivate and HostKeyPublic install an ed25519 host key chosen
	// by pcocc; empty: the VM makes its own (ed25519 only: an RSA key costs
	// ~20 s under emulation).
	HostKeyPrivate string
	HostKeyPublic  string
	// UserData is the template's user-data as text ("#cloud-config ...",
	// "#!/bin/sh ...", or empty).
	UserData string
	// Mounts are the virtio-fs tags the guest mounts at boot (cloud-init's
	// mounts: an /etc/fstab entry each, mounted at once).
	Mounts []Mount
}

// Mount is a virtio-fs tag mounted on Dir in the guest.
type Mount struct {
	Tag, Dir string
	Readonly bool
}

// MetaData is the seed's meta-data file.
func (s Seed) MetaData() []byte {
	return fmt.Appendf(nil, "instance-id: %s\nlocal-hostname: %s\n", yamlQuote(s.InstanceID), yamlQuote(s.Hostname))
}

// base is pcocc's own cloud-config.
func (s Seed) base() map[string]any {
	c := map[string]any{
		"hostname":            s.Hostname,
		"ssh_authorized_keys": toAny(s.AuthorizedKeys),
		"ssh_genkeytypes":     []any{"ed25519"},
		// The keys of the image's build, if any, are not this VM's.
		"ssh_deletekeys": true,
		// The VM's own name resolves (sudo looks it up on every call).
		"manage_etc_hosts": true,
	}
	if s.User != "" {
		c["users"] = []any{"default", map[string]any{
			"name":                s.User,
			"sudo":                "ALL=(ALL) NOPASSWD:ALL",
			"shell":               "/bin/bash",
			"lock_passwd":         true,
			"ssh_authorized_keys": toAny(s.AuthorizedKeys),
		}}
	}
	if len(s.Mounts) > 0 {
		var ms []any
		for _, m := range s.Mounts {
			opts := "defaults,nofail"
			if m.Readonly {
				opts += ",ro"
			}
			ms = append(ms, []any{m.Tag, m.Dir, "virtiofs", opts, "0", "0"})
		}
		c["mounts"] = ms
	}
	if s.HostKeyPrivate != "" {
		c["ssh_keys"] = map[string]any{"ed25519_private": s.HostKeyPrivate, "ed25519_public": s.HostKeyPublic}
		c["ssh_genkeytypes"] = []any{}
	}
	return c
}

// UserDataFile is the seed's user-data file.
func (s Seed) UserDataFile() ([]byte, error) {
	ud := strings.TrimSpace(s.UserData)
	switch {
	case ud == "" || isCloudConfig(ud):
		var theirs map[string]any
		if ud != "" {
			if err := yaml.Unmarshal([]byte(ud), &theirs); err != nil {
				return nil, fmt.Errorf("user-data: not a valid cloud-config: %w", err)
			}
		}
		out, err := yaml.Marshal(Merge(s.base(), theirs))
		if err != nil {
			return nil, err
		}
		return append([]byte("#cloud-config\n"), out...), nil
	}
	return s.multipart(ud)
}

// multipart sends pcocc's cloud-config and the template's user-data (a
// script or another format cloud-init knows by its first line) together.
func (s Seed) multipart(theirs string) ([]byte, error) {
	mine, err := yaml.Marshal(s.base())
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	parts := []struct{ typ, text string }{
		{"text/cloud-config", "#cloud-config\n" + string(mine)},
		{partType(theirs), theirs + "\n"},
	}
	for i, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", p.typ+`; charset="us-ascii"`)
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="part-%d"`, i+1))
		pw, err := w.CreatePart(h)
		if err != nil {
			return nil, err
		}
		io.WriteString(pw, p.text)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	head := fmt.Sprintf("Content-Type: multipart/mixed; boundary=%q\nMIME-Version: 1.0\n\n", w.Boundary())
	return append([]byte(head), body.Bytes()...), nil
}

// partType is the MIME type cloud-init gives user-data by its first line.
func partType(ud string) string {
	first, _, _ := strings.Cut(ud, "\n")
	switch {
	case strings.HasPrefix(first, "#!"):
		return "text/x-shellscript"
	case strings.HasPrefix(first, "#include"):
		return "text/x-include-url"
	case strings.HasPrefix(first, "#cloud-boothook"):
		return "text/cloud-boothook"
	case strings.HasPrefix(first, "#upstart-job"):
		return "text/upstart-job"
	}
	return "text/plain"
}

func isCloudConfig(ud string) bool {
	first, _, _ := strings.Cut(ud, "\n")
	return strings.TrimSpace(first) == "#cloud-config"
}

// Merge merges theirs into mine: mappings key by key, lists concatenated
// (mine first: users, ssh keys and packages add up), any other value of
// theirs wins. Neither argument is modified.
func Merge(mine, theirs map[string]any) map[string]any {
	out := make(map[string]any, len(mine)+len(theirs))
	for k, v := range mine {
		out[k] = v
	}
	for k, tv := range theirs {
		mv, ok := out[k]
		if !ok {
			out[k] = tv
			continue
		}
		mm, ok1 := mv.(map[string]any)
		tm, ok2 := tv.(map[string]any)
		if ok1 && ok2 {
			out[k] = Merge(mm, tm)
			continue
		}
		ml, ok1 := mv.([]any)
		tl, ok2 := tv.([]any)
		if ok1 && ok2 {
			out[k] = append(append([]any{}, ml...), tl...)
			continue
		}
		out[k] = tv
	}
	return out
}

// WriteISO writes the seed as an ISO 9660 image to path (0600: it may hold a
// private host key), replacing it atomically.
func (s Seed) WriteISO(path string) error {
	ud, err := s.UserDataFile()
	if err != nil {
		return err
	}
	w, err := iso9660.NewWriter()
	if err != nil {
		return err
	}
	defer w.Cleanup()
	for name, data := range map[string][]byte{"meta-data": s.MetaData(), "user-data": ud} {
		if err := w.AddFile(bytes.NewReader(data), name); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-seed-")
	if err != nil {
		return fmt.Errorf("writing the cloud-init seed: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := w.WriteTo(tmp, VolumeID); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the cloud-init seed: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the cloud-init seed: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// yamlQuote quotes a scalar when YAML would read it as something else.
func yamlQuote(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSpace(string(out))
}
