package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressBar shows how a long copy advances: on a terminal one bar per
// item redrawn in place with \r, elsewhere (a log, a pipe) one line per
// finished item.
type progressBar struct {
	out      io.Writer
	terminal bool
	now      func() time.Time
	start    time.Time
	// last is when the bar was last drawn; redraws are throttled.
	last time.Time
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newProgressBar(out io.Writer, terminal bool, now func() time.Time) *progressBar {
	return &progressBar{out: out, terminal: terminal, now: now}
}

// update reports that done of total units of name are finished.
func (p *progressBar) update(name string, done, total int64, finished bool) {
	now := p.now()
	if done == 0 && !finished {
		p.start, p.last = now, time.Time{}
	}
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 0.001)
	if !p.terminal {
		if finished {
			fmt.Fprintf(p.out, "%-24s %d/%d records (%.0f/s)\n", name, done, total, rate)
		}
		return
	}
	if !finished && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	filled := width
	if total > 0 {
		filled = int(min(done, total) * width / total)
	}
	fmt.Fprintf(p.out, "\r%-24s [%s%s] %d/%d (%.0f/s)\033[K", name,
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, rate)
	if finished {
		fmt.Fprintln(p.out)
	}
}
