// Package progress shows how far a long operation (an import, a rebuild)
// is, on a terminal only.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// Reporter follows an operation over some layers and bytes. Its methods
// are safe to call from several goroutines.
type Reporter interface {
	Start(total int64, layers int) // total bytes, -1 if unknown
	Reader(r io.Reader) io.Reader  // counts the bytes read through it
	LayerDone()
	Done()
}

// New returns a Reporter writing to f when f is a terminal and quiet is
// false, and one that does nothing otherwise.
func New(f *os.File, label string, quiet bool) Reporter {
	if quiet || f == nil || !term.IsTerminal(int(f.Fd())) {
		return Nop()
	}
	return NewLine(f, label, 200*time.Millisecond)
}

// Nop returns a Reporter that does nothing.
func Nop() Reporter { return nop{} }

type nop struct{}

func (nop) Start(int64, int)             {}
func (nop) Reader(r io.Reader) io.Reader { return r }
func (nop) LayerDone()                   {}
func (nop) Done()                        {}

// Line redraws one status line every interval.
type Line struct {
	w        io.Writer
	label    string
	interval time.Duration
	total    int64
	layers   int
	done     atomic.Int64 // bytes
	layer    atomic.Int64
	start    time.Time
	stop     chan struct{}
	wg       sync.WaitGroup
}

// NewLine returns a Reporter drawing on w whatever w is.
func NewLine(w io.Writer, label string, interval time.Duration) *Line {
	return &Line{w: w, label: label, interval: interval}
}

func (l *Line) Start(total int64, layers int) {
	l.total, l.layers, l.start = total, layers, time.Now()
	l.stop = make(chan struct{})
	l.wg.Add(1)
	go l.loop()
}

func (l *Line) loop() {
	defer l.wg.Done()
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.draw("")
		case <-l.stop:
			l.draw("\n")
			return
		}
	}
}

func (l *Line) draw(end string) {
	done := l.done.Load()
	rate := float64(done) / max(time.Since(l.start).Seconds(), 1e-3)
	size := mib(done)
	if l.total >= 0 {
		size += " / " + mib(l.total)
	}
	fmt.Fprintf(l.w, "\r\033[K%s: layer %d/%d  %s  %s/s%s", l.label, min(int(l.layer.Load())+1, l.layers),
		l.layers, size, mib(int64(rate)), end)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func (l *Line) Reader(r io.Reader) io.Reader { return counted{r, &l.done} }

func (l *Line) LayerDone() { l.layer.Add(1) }

// Done draws the last state and ends the line.
func (l *Line) Done() {
	if l.stop == nil {
		return
	}
	close(l.stop)
	l.wg.Wait()
	l.stop = nil
}

type counted struct {
	r io.Reader
	n *atomic.Int64
}

func (c counted) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
