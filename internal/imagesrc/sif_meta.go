package imagesrc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path"
	"slices"
	"strings"

	"github.com/pcocc/pcocc/internal/envscript"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/tools"
)

// Where Apptainer keeps an image's metadata inside its root file system.
const (
	sifMetaDir    = "/.singularity.d"
	sifEnvDir     = sifMetaDir + "/env"
	sifRunscript  = sifMetaDir + "/runscript"
	sifLabelsFile = sifMetaDir + "/labels.json"
	maxEnvScript  = 1 << 20
)

// sifRuntimeScripts are written by Apptainer itself into every image and
// only serve its own runtime (SCIF apps, the --nv library directory, the
// prompt, --env-file and prepend/append PATH options): not image content.
var sifRuntimeScripts = []string{"94-appsbase.sh", "95-apps.sh", "99-base.sh", "99-runtimevars.sh"}

// sifConfig returns the SquashfsRoot.Config of a SIF: the environment
// scripts are evaluated by the parser of the envscript package, never run; the
// runscript becomes the entrypoint so that running the image with
// arguments behaves as 'apptainer run'.
func sifConfig(objLabels map[string]string, warns []string) func(context.Context, string) (imagemeta.Config, []string, error) {
	return func(ctx context.Context, sqfs string) (imagemeta.Config, []string, error) {
		rd := &sqfsReader{ctx: ctx, path: sqfs}
		var cfg imagemeta.Config
		top, err := rd.list(sifMetaDir)
		if err != nil {
			return cfg, nil, err
		}
		if top == nil {
			return cfg, append(warns, "the image has no "+sifMetaDir+": no environment, labels nor runscript to keep"), nil
		}
		if t := top["runscript"]; t == '-' || t == 'l' {
			cfg.Entrypoint = []string{sifRunscript}
		}
		if cfg.Labels, err = rd.labels(top, objLabels); err != nil {
			return cfg, nil, err
		}
		if top["env"] == 'd' {
			if cfg.Env, warns, err = rd.env(warns); err != nil {
				return cfg, nil, err
			}
		}
		return cfg, warns, nil
	}
}

func (rd *sqfsReader) labels(top map[string]byte, extra map[string]string) (map[string]string, error) {
	labels := map[string]string{}
	if top["labels.json"] == '-' {
		b, err := rd.cat(sifLabelsFile, maxJSON)
		if err != nil {
			return nil, err
		}
		if labels, err = decodeLabels(b); err != nil {
			return nil, fmt.Errorf("reading %s: %w", sifLabelsFile, err)
		}
	}
	maps.Copy(labels, extra)
	if len(labels) == 0 {
		return nil, nil
	}
	return labels, nil
}

// env evaluates the scripts in the order Apptainer sources them.
func (rd *sqfsReader) env(warns []string) ([]string, []string, error) {
	entries, err := rd.list(sifEnvDir)
	if err != nil {
		return nil, nil, err
	}
	names := slices.Sorted(maps.Keys(entries))
	st := envscript.New()
	for _, name := range names {
		if !strings.HasSuffix(name, ".sh") || slices.Contains(sifRuntimeScripts, name) {
			continue
		}
		file := path.Join(sifEnvDir, name)
		if entries[name] != '-' {
			warns = append(warns, fmt.Sprintf("%s: skipped: not a regular file", file))
			continue
		}
		b, err := rd.cat(file, maxEnvScript)
		if err != nil {
			return nil, nil, err
		}
		st.Eval(file, string(b))
	}
	return st.Env(), append(warns, st.Warnings()...), nil
}

// sqfsReader reads files out of a squashfs with rdsquashfs
// (squashfs-tools-ng): nothing is mounted and nothing of the image runs.
type sqfsReader struct {
	ctx  context.Context
	path string
}

func (rd *sqfsReader) run(limit int64, args ...string) ([]byte, bool, error) {
	bin, err := tools.Find("rdsquashfs")
	if err != nil {
		return nil, false, err
	}
	cmd := exec.CommandContext(rd.ctx, bin, append(args, rd.path)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, false, err
	}
	if err := cmd.Start(); err != nil {
		return nil, false, err
	}
	b, rerr := io.ReadAll(io.LimitReader(out, limit+1))
	io.Copy(io.Discard, out)
	werr := cmd.Wait()
	switch {
	case rerr != nil:
		return nil, false, rerr
	case werr != nil && strings.Contains(stderr.String(), "no such file or directory"):
		return nil, false, nil
	case werr != nil:
		return nil, false, fmt.Errorf("rdsquashfs %s: %s", strings.Join(args, " "), firstLine(stderr.String(), werr))
	case int64(len(b)) > limit:
		return nil, false, fmt.Errorf("%s is larger than %d bytes", args[len(args)-1], limit)
	}
	return b, true, nil
}

func firstLine(s string, err error) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if s == "" {
		return err.Error()
	}
	return s
}

// list returns the entries of a directory and their type ('-' file, 'd'
// directory, 'l' link, ...); nil when the directory does not exist.
func (rd *sqfsReader) list(dir string) (map[string]byte, error) {
	b, ok, err := rd.run(16<<20, "-l", dir)
	if err != nil || !ok {
		return nil, err
	}
	entries := map[string]byte{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		mode, name, ok := listEntry(sc.Text())
		if ok {
			entries[name] = mode
		}
	}
	return entries, nil
}

// cat returns a regular file's content.
func (rd *sqfsReader) cat(file string, limit int64) ([]byte, error) {
	b, ok, err := rd.run(limit, "-c", file)
	if err == nil && !ok {
		err = fmt.Errorf("%s: no such file", file)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s from the squashfs: %w", file, err)
	}
	return b, nil
}

// listEntry parses a line of 'rdsquashfs -l': "-rwxr-xr-x 0/0  29 runscript",
// "lrwxrwxrwx 0/0 9 name -> target" (the size is right-aligned).
func listEntry(line string) (byte, string, bool) {
	rest := line
	var f [3]string
	for i := range f {
		var ok bool
		if f[i], rest, ok = strings.Cut(strings.TrimLeft(rest, " "), " "); !ok || f[i] == "" {
			return 0, "", false
		}
	}
	if f[0][0] == 'l' {
		rest, _, _ = strings.Cut(rest, " -> ")
	}
	return f[0][0], rest, rest != ""
}
