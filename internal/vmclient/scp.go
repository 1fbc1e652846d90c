package vmclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The scp protocol (the remote side is the VM's `scp -t` or `scp -f`): each
// message is acknowledged by one byte, 0 (ok), 1 (warning) or 2 (error)
// followed by a line.

// Upload copies a local file (or, with recursive, a directory) to remote.
func (c *Client) Upload(ctx context.Context, local, remote string, recursive bool) error {
	st, err := os.Stat(local)
	if err != nil {
		return err
	}
	if st.IsDir() && !recursive {
		return fmt.Errorf("%s is a directory (copy it with -r)", local)
	}
	return c.scp(ctx, "-t", remote, recursive, func(p *scpPeer) error {
		if err := p.ack(); err != nil {
			return err
		}
		return p.send(local, st)
	})
}

// Download copies remote to a local file or directory (an existing
// directory receives it under its name).
func (c *Client) Download(ctx context.Context, remote, local string, recursive bool) error {
	return c.scp(ctx, "-f", remote, recursive, func(p *scpPeer) error {
		return p.receive(local)
	})
}

func (c *Client) scp(ctx context.Context, mode, remote string, recursive bool, do func(*scpPeer) error) error {
	s, err := c.ssh.NewSession()
	if err != nil {
		return fmt.Errorf("ssh session: %w", err)
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	w, _ := s.StdinPipe()
	r, _ := s.StdoutPipe()
	var stderr strings.Builder
	s.Stderr = &stderr
	cmd := "scp " + mode
	if recursive {
		cmd += " -r"
	}
	if err := s.Start(cmd + " -- " + ShellQuote(remote)); err != nil {
		return fmt.Errorf("scp: %w", err)
	}
	err = do(&scpPeer{r: bufio.NewReader(r), w: w})
	w.Close()
	werr := s.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil && werr != nil {
		err = fmt.Errorf("%v %s", werr, oneLine(stderr.String()))
	}
	if err != nil {
		return fmt.Errorf("scp: %w", err)
	}
	return nil
}

type scpPeer struct {
	r *bufio.Reader
	w io.Writer
}

// ack reads the other side's answer to the last message.
func (p *scpPeer) ack() error {
	b, err := p.r.ReadByte()
	if err != nil {
		return fmt.Errorf("the VM's scp ended: %w", err)
	}
	if b == 0 {
		return nil
	}
	msg, _ := p.r.ReadString('\n')
	return errors.New(strings.TrimSpace(msg))
}

func (p *scpPeer) msg(format string, a ...any) error {
	if _, err := fmt.Fprintf(p.w, format, a...); err != nil {
		return err
	}
	return p.ack()
}

func (p *scpPeer) send(path string, st os.FileInfo) error {
	name := filepath.Base(path)
	if st.IsDir() {
		if err := p.msg("D%04o 0 %s\n", st.Mode().Perm(), name); err != nil {
			return err
		}
		ents, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range ents {
			est, err := os.Stat(filepath.Join(path, e.Name()))
			if err != nil {
				return err
			}
			if err := p.send(filepath.Join(path, e.Name()), est); err != nil {
				return err
			}
		}
		return p.msg("E\n")
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := p.msg("C%04o %d %s\n", st.Mode().Perm(), st.Size(), name); err != nil {
		return err
	}
	if _, err := io.CopyN(p.w, f, st.Size()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return p.msg("\x00")
}

// receive is the sink: it writes what the VM sends under local, refusing
// names that would leave it.
func (p *scpPeer) receive(local string) error {
	dirs := []string{}
	target := func(name string) string {
		if len(dirs) > 0 {
			return filepath.Join(dirs[len(dirs)-1], name)
		}
		if st, err := os.Stat(local); err == nil && st.IsDir() {
			return filepath.Join(local, name)
		}
		return local
	}
	if _, err := p.w.Write([]byte{0}); err != nil {
		return err
	}
	for {
		line, err := p.r.ReadString('\n')
		if err == io.EOF && line == "" && len(dirs) == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the VM's scp ended: %w", err)
		}
		switch line[0] {
		case 1, 2:
			return errors.New(strings.TrimSpace(line[1:]))
		case 'T': // times: not kept
		case 'E':
			if len(dirs) == 0 {
				return errors.New("protocol error: E outside a directory")
			}
			dirs = dirs[:len(dirs)-1]
		case 'C', 'D':
			mode, size, name, err := parseHeader(line)
			if err != nil {
				return err
			}
			path := target(name)
			if line[0] == 'D' {
				if err := os.Mkdir(path, mode|0o700); err != nil && !os.IsExist(err) {
					return err
				}
				dirs = append(dirs, path)
			} else if err := p.receiveFile(path, mode, size); err != nil {
				return err
			}
		default:
			return fmt.Errorf("protocol error: %q", oneLine(line))
		}
		if _, err := p.w.Write([]byte{0}); err != nil {
			return err
		}
	}
}

func (p *scpPeer) receiveFile(path string, mode os.FileMode, size int64) error {
	if _, err := p.w.Write([]byte{0}); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, p.r, size); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return p.ack()
}

// parseHeader reads "Cmmmm SIZE NAME" (or D); a name is one path element.
func parseHeader(line string) (os.FileMode, int64, string, error) {
	f := strings.SplitN(strings.TrimSuffix(line[1:], "\n"), " ", 3)
	if len(f) != 3 {
		return 0, 0, "", fmt.Errorf("protocol error: %q", oneLine(line))
	}
	mode, err1 := strconv.ParseUint(f[0], 8, 32)
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	name := f[2]
	if err1 != nil || err2 != nil || size < 0 || name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return 0, 0, "", fmt.Errorf("the VM sent a bad entry: %q", oneLine(line))
	}
	return os.FileMode(mode).Perm(), size, name, nil
}

// ShellQuote quotes s for a POSIX shell.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
