package realtime

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Watch is the broker's in-process change feed, for transports other than
// SSE and WebSocket (GraphQL subscriptions, the gRPC Watch stream). A
// watcher is an ordinary broker client without a connection: its topics use
// the syntax of the SSE subscriptions ("coll/*", "coll/RECORD_ID", the
// legacy "coll", each optionally with "?options=" and the URL-encoded JSON
// {"query":{...},"headers":{...}}), it is checked against the same rules
// (list rule for collection topics, view rule for record topics, the
// options' filter), its payloads are exported as the REST API exports them
// for its auth, and it has the same bounded queue: a watcher that falls
// Options.SendBuffer messages behind is dropped.

// Message is one record change delivered to a watcher, or the reason its
// feed ended.
type Message struct {
	// Topic is the subscribed topic that matched, exactly as given to
	// Watch.
	Topic string
	// Data is the JSON {"action":"create"|"update"|"delete","record":{...}},
	// the data of the SSE message for the same subscription. Receivers must
	// not modify it: it is shared with other subscribers.
	Data []byte
	// Err is set on the last message of a feed that the broker ended:
	// ErrTooSlow or ErrClosed. A feed ended by its context gets no such
	// message.
	Err error
}

// Change is the decoded Data of a Message.
type Change struct {
	Action string         `json:"action"`
	Record map[string]any `json:"record"`
}

// Decode returns the action and the exported record of m.
func (m Message) Decode() (Change, error) {
	var c Change
	if err := json.Unmarshal(m.Data, &c); err != nil {
		return Change{}, errors.New("decoding a realtime message: " + err.Error())
	}
	return c, nil
}

// Reasons a feed ends, in Message.Err.
var (
	// ErrTooSlow: the watcher did not take its messages fast enough and
	// Options.SendBuffer of them waited.
	ErrTooSlow = errors.New("realtime: watcher too slow: send buffer full")
	// ErrClosed: the broker is closing (server shutdown).
	ErrClosed = errors.New("realtime: broker closed")
)

// Watch subscribes auth (nil for a guest) to topics and returns the
// channel that receives the matching changes, in commit order, from the
// first one committed after Watch returns. The channel is closed when ctx
// ends (everything the watcher held is then released) or after a last
// message with Err when the broker drops the watcher. The caller must keep
// receiving until ctx ends or the channel closes; delivery to other clients
// never waits for it.
//
// Errors: Invalid with per-field problems when topics is empty or too
// large (as for POST /api/realtime), Unavailable when the broker is closed.
//
// When auth's record changes, the watcher follows it as SSE clients do: an
// update replaces it, a delete or a token key change (a new password) makes
// the watcher a guest.
func (b *Broker) Watch(ctx context.Context, auth *schema.Record, topics []string) (<-chan Message, error) {
	if len(topics) == 0 {
		return nil, apperr.Fields("Something went wrong while processing your request.", map[string]apperr.Field{
			"subscriptions": {Code: "validation_required", Message: "Cannot be blank."}})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := b.register("")
	if c == nil {
		return nil, apperr.New(apperr.Unavailable, "The server is shutting down.")
	}
	wake := make(chan struct{}, 1)
	c.qmu.Lock()
	c.wake = wake
	c.qmu.Unlock()
	if err := b.Subscribe(c.id, "", auth, topics); err != nil {
		b.unregister(c, dropEnded)
		return nil, err
	}
	out := make(chan Message)
	go b.watch(ctx, c, wake, out)
	return out, nil
}

// watch hands c's queued messages to out until ctx ends or c is dropped.
func (b *Broker) watch(ctx context.Context, c *client, wake chan struct{}, out chan<- Message) {
	defer close(out)
	defer b.unregister(c, dropEnded)
	var batch []*message
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.gone:
			b.watchEnded(ctx, c, out)
			return
		case <-wake:
			batch = c.take(batch[:0], maxBatch)
			for _, m := range batch {
				select {
				case out <- Message{Topic: m.name, Data: m.data}:
				case <-ctx.Done():
					return
				case <-c.gone:
					b.watchEnded(ctx, c, out)
					return
				}
			}
			if len(batch) == maxBatch { // more may wait
				wakeUp(wake)
			}
			clear(batch)
		}
	}
}

// watchEnded sends the reason the broker dropped c, unless ctx ends first.
func (b *Broker) watchEnded(ctx context.Context, c *client, out chan<- Message) {
	var err error
	switch c.reason {
	case dropSlow:
		err = ErrTooSlow
	case dropShutdown:
		err = ErrClosed
	default:
		return
	}
	select {
	case out <- Message{Err: err}:
	case <-ctx.Done():
	}
}
