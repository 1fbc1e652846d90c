package vmimage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// QemuImg is the qemu-img program run (a variable for the tests of a
// missing one).
var QemuImg = "qemu-img"

// info is what `qemu-img info` says of one image (its backing file is not
// opened).
type info struct {
	Format          string `json:"format"`
	VirtualSize     int64  `json:"virtual-size"`
	BackingFilename string `json:"backing-filename"`
}

// probe asks qemu-img what a file is; format "" lets qemu-img guess.
func probe(ctx context.Context, file, format string) (*info, error) {
	args := []string{"info", "--output=json"}
	if format != "" {
		args = append(args, "-f", format)
	}
	out, err := qemuImg(ctx, append(args, "--", file)...)
	if err != nil {
		return nil, err
	}
	var i info
	if err := json.Unmarshal(out, &i); err != nil {
		return nil, fmt.Errorf("reading 'qemu-img info' of %s: %w", file, err)
	}
	return &i, nil
}

// convert writes src (in format from) as dst (in format to), whole: the
// result has no backing file.
func convert(ctx context.Context, src, from, dst, to string) error {
	_, err := qemuImg(ctx, "convert", "-f", from, "-O", to, "--", src, dst)
	return err
}

// overlay creates an empty qcow2 layer of size bytes over backing, a name
// relative to dst's directory (not opened: -u).
func overlay(ctx context.Context, dst, backing string, size int64) error {
	_, err := qemuImg(ctx, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, "-u", "--", dst, strconv.FormatInt(size, 10))
	return err
}

// rebase points a qcow2 layer at another backing file without touching its
// data (-u): the caller guarantees the new backing has the same content.
func rebase(ctx context.Context, file, backing string) error {
	_, err := qemuImg(ctx, "rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", backing, "--", file)
	return err
}

// qemuImg runs qemu-img and turns its failure into one line: the last line
// it wrote, without its "qemu-img: " prefix.
func qemuImg(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, QemuImg, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if _, ok := err.(*exec.Error); ok {
		return nil, fmt.Errorf("running %s: %w (install qemu-utils)", QemuImg, err)
	}
	msg := lastLine(stderr.String())
	if msg == "" {
		msg = err.Error()
	}
	return nil, fmt.Errorf("qemu-img %s: %s", args[0], msg)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	return strings.TrimPrefix(l, "qemu-img: ")
}
