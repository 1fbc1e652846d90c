package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// lineHandler prints log records as one plain line each, the way command-line
// tools do ("pcocc: warning: ..."), instead of slog's key=value default,
// with the name the program was called by.
type lineHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Level
	name  string
	attrs []slog.Attr
}

func newLineHandler(w io.Writer, level slog.Level, name string) *lineHandler {
	return &lineHandler{mu: &sync.Mutex{}, w: w, level: level, name: name}
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(h.name + ": ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	case r.Level < slog.LevelInfo:
		b.WriteString("debug: ")
	}
	// Messages quote what images hold (warnings about their scripts).
	b.WriteString(Printable(CalledAs(h.name, r.Message)))
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%s", a.Key, Printable(a.Value.String()))
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &n
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
