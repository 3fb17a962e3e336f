package sse

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// TestRead feeds a stream with events of two topics and a ping, and checks
// that only the subscribed topic's events are recorded, with the record's
// id and created time.
func TestRead(t *testing.T) {
	server, client := net.Pipe()
	s := &Subscriber{topic: "posts/*", keep: true, conn: client, rd: bufio.NewReaderSize(client, readBuffer)}
	done := make(chan struct{})
	go func() { defer close(done); s.Read() }()
	stream := "event: posts/*\n" +
		`data: {"action":"create","record":{"collectionId":"pbc_1","id":"abcdefghijklmno","created":"2026-11-23 23:50:01.250Z"}}` + "\n\n" +
		"event: PB_PING\ndata: {}\n\n" +
		"event: other/*\n" +
		`data: {"action":"create","record":{"id":"zzzzzzzzzzzzzzz","created":"2026-11-23 23:50:02.000Z"}}` + "\n\n" +
		"event: posts/*\n" +
		`data: {"action":"update","record":{"id":"bcdefghijklmnop","created":"2026-11-23 23:50:03.500Z"}}` + "\n\n"
	if _, err := server.Write([]byte(stream)); err != nil {
		t.Fatal(err)
	}
	server.Close()
	<-done
	if !s.Ended() || s.Count() != 2 {
		t.Fatalf("ended %v, count %d; want true, 2", s.Ended(), s.Count())
	}
	for i, want := range []struct {
		id      string
		created time.Time
	}{
		{"abcdefghijklmno", time.Date(2026, 11, 23, 23, 50, 1, 250e6, time.UTC)},
		{"bcdefghijklmnop", time.Date(2026, 11, 23, 23, 50, 3, 500e6, time.UTC)},
	} {
		d := s.Deliveries()[i]
		if string(d.ID[:]) != want.id || !d.Created().Equal(want.created) || d.At.IsZero() {
			t.Errorf("delivery %d = %q created %v at %v, want %q created %v", i, d.ID[:], d.Created(), d.At, want.id, want.created)
		}
	}
}
