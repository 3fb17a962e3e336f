package store

import "context"

// MaxRelayPayload bounds the payload of one relayed message (PostgreSQL's
// NOTIFY takes less than 8000 bytes).
const MaxRelayPayload = 7900

// Relay carries short messages between the Basalt processes that share one
// database, for work that must reach the process holding some in-memory
// state (a realtime client's connection, say). Messages are not stored:
// a process that is not listening when one is sent never sees it, so
// senders wait for an answer and give up after a timeout.
type Relay interface {
	// RelaySend sends payload to every process listening on channel, this
	// one included. Invalid when payload is longer than MaxRelayPayload.
	RelaySend(ctx context.Context, channel string, payload []byte) error
	// RelayListen calls fn, from one goroutine, with every payload sent on
	// channel while it listens, until ctx ends; it then returns ctx's
	// error. ready is called each time listening (re)starts; messages sent
	// before that may be lost. An engine that no other process can share
	// while Basalt runs (SQLite) returns nil at once without calling ready:
	// there is no one to relay to.
	RelayListen(ctx context.Context, channel string, ready func(), fn func(payload []byte)) error
}
