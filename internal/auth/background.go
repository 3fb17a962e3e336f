package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxBackground bounds the background tasks running at once; more are
// dropped with a log line (the per-IP throttle keeps this rare).
const maxBackground = 64

// backgroundTimeout bounds one background task.
const backgroundTimeout = time.Minute

// later runs fn after the request has been answered. Request-* endpoints
// answer unknown and known addresses alike: the work that exists only for a
// known one (storing a one-time password, signing a token, queueing the
// mail) runs here, so it neither delays nor shapes the response.
func (s *Service) later(what string, fn func(ctx context.Context) error) {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgClosed {
		s.logger.Error("auth task dropped: shutting down", "task", what)
		return
	}
	select {
	case s.bgSlots <- struct{}{}:
	default:
		s.logger.Error("auth task dropped: too many running", "task", what)
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer func() { <-s.bgSlots }()
		ctx, cancel := context.WithTimeout(context.Background(), backgroundTimeout)
		defer cancel()
		if err := fn(ctx); err != nil {
			s.logger.Error("auth task failed", "task", what, "err", err)
		}
	}()
}

// Close waits until the background tasks have finished (they hand their
// mail to the mailer, which drains separately) or ctx ends.
func (s *Service) Close(ctx context.Context) error {
	s.bgMu.Lock()
	s.bgClosed = true
	s.bgMu.Unlock()
	done := make(chan struct{})
	go func() {
		s.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("closing auth service: %w", errors.Join(ctx.Err(), errors.New("background tasks still running")))
	}
}

// Wait blocks until the background tasks started so far have finished (for
// tests).
func (s *Service) Wait() { s.bg.Wait() }
