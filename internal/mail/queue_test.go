package mail

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// recorder is a Sender that fails its first failures calls with err.
type recorder struct {
	mu       sync.Mutex
	failures int
	err      error
	calls    int
	sent     []*Message
	gate     chan struct{} // when set, Send waits for it (or ctx)
}

func (r *recorder) Send(ctx context.Context, m *Message) error {
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failures > 0 {
		r.failures--
		return r.err
	}
	r.sent = append(r.sent, m)
	return nil
}

func (r *recorder) counts() (calls, sent int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls, len(r.sent)
}

func testLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(&lockedWriter{buf: buf}, nil))
}

type lockedWriter struct {
	mu  sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func msg(subject string) *Message {
	return &Message{To: []Address{{Address: "a@example.com"}}, Subject: subject, HTML: "<p>secret-token</p>"}
}

func fastOptions() QueueOptions {
	return QueueOptions{Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Attempts: 4, Timeout: time.Second}
}

func TestQueueRetriesTemporaryFailures(t *testing.T) {
	t.Parallel()
	r := &recorder{failures: 2, err: errors.New("451 try later")}
	q := NewQueue(r, testLogger(&bytes.Buffer{}), fastOptions())
	if err := q.Send(context.Background(), msg("hello")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if calls, sent := r.counts(); calls != 3 || sent != 1 {
		t.Errorf("calls=%d sent=%d, want 3 attempts and 1 delivery", calls, sent)
	}
	if q.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", q.Dropped())
	}
}

func TestQueueGivesUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		wantCalls int
	}{
		{"temporary failures until attempts run out", errors.New("connection refused"), 4},
		{"permanent failure is not retried", Permanent(errors.New("550 no such user")), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			r := &recorder{failures: 100, err: tt.err}
			q := NewQueue(r, testLogger(&logs), fastOptions())
			_ = q.Send(context.Background(), msg("hello"))
			if err := q.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if calls, _ := r.counts(); calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			if q.Dropped() != 1 {
				t.Errorf("Dropped = %d, want 1", q.Dropped())
			}
			if bytes.Contains(logs.Bytes(), []byte("secret-token")) {
				t.Errorf("the log contains the mail body:\n%s", logs.String())
			}
		})
	}
}

func TestQueueSendNeverBlocks(t *testing.T) {
	t.Parallel()
	r := &recorder{gate: make(chan struct{})}
	q := NewQueue(r, testLogger(&bytes.Buffer{}), QueueOptions{Size: 2, Workers: 1})
	// One message is held by the worker (the gate is closed), two fill the
	// buffer, the fourth is refused at once.
	var errs []error
	for range 4 {
		errs = append(errs, q.Send(context.Background(), msg("x")))
		if len(errs) == 1 {
			waitFor(t, func() bool { return q.Pending() == 0 })
		}
	}
	if !errors.Is(errs[3], ErrQueueFull) {
		t.Errorf("4th Send = %v, want ErrQueueFull (errors %v)", errs[3], errs)
	}
	close(r.gate)
	if err := q.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, sent := r.counts(); sent != 3 {
		t.Errorf("sent %d, want 3", sent)
	}
	if err := q.Send(context.Background(), msg("late")); !errors.Is(err, ErrQueueClosed) {
		t.Errorf("Send after Close = %v, want ErrQueueClosed", err)
	}
}

func TestQueueCloseGivesUpAtDeadline(t *testing.T) {
	t.Parallel()
	r := &recorder{gate: make(chan struct{})} // never opens: a hung server
	q := NewQueue(r, testLogger(&bytes.Buffer{}), QueueOptions{Workers: 1, Timeout: time.Hour})
	for range 3 {
		_ = q.Send(context.Background(), msg("x"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := q.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want a deadline error", err)
	}
	if q.Dropped() != 3 {
		t.Errorf("Dropped = %d, want 3", q.Dropped())
	}
}

func TestQueueSendNowReportsErrors(t *testing.T) {
	t.Parallel()
	r := &recorder{failures: 1, err: errors.New("boom")}
	q := NewQueue(r, testLogger(&bytes.Buffer{}), fastOptions())
	defer q.Close(context.Background())
	if err := q.SendNow(context.Background(), msg("x")); err == nil || err.Error() != "boom" {
		t.Errorf("SendNow = %v, want boom", err)
	}
	if err := q.SendNow(context.Background(), msg("x")); err != nil {
		t.Errorf("SendNow = %v, want nil", err)
	}
}

func TestLogSenderOmitsBody(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	if err := (LogSender{Logger: testLogger(&logs)}).Send(context.Background(), msg("Verify")); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !bytes.Contains(logs.Bytes(), []byte("a@example.com")) || !bytes.Contains(logs.Bytes(), []byte("Verify")) {
		t.Errorf("log lacks recipient or subject: %s", out)
	}
	if bytes.Contains(logs.Bytes(), []byte("secret-token")) {
		t.Errorf("log contains the body: %s", out)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
