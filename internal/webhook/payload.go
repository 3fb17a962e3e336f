package webhook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// cloudEvent is the CloudEvents 1.0 JSON envelope of a delivery.
type cloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject"`
	Time            string    `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            eventData `json:"data"`
}

type eventData struct {
	Action     store.Action   `json:"action"`
	Collection string         `json:"collection"`
	Record     map[string]any `json:"record"`
	Before     map[string]any `json:"before,omitempty"`
}

var eventTypes = map[store.Action]string{
	store.ActionCreate: "basalt.record.created",
	store.ActionUpdate: "basalt.record.updated",
	store.ActionDelete: "basalt.record.deleted",
}

// payload builds the CloudEvent of ev: the record as a superuser sees it
// (hidden fields included, never password hashes or token keys), and for
// updates the record before. er is ev decoded.
func (s *Service) payload(ev *store.Event, er *record.EventRecord) ([]byte, error) {
	super := &record.Request{Auth: schema.NewRecord(s.superusers())}
	data := eventData{
		Action: ev.Action, Collection: ev.CollectionName,
		Record: record.Export(&record.Item{Record: er.Record}, super),
	}
	if ev.Action == store.ActionUpdate && ev.Before != nil {
		before, err := s.records.DecodeEvent(&store.Event{
			ID: ev.ID, CollectionID: ev.CollectionID, Action: store.ActionCreate, After: ev.Before,
		})
		if err == nil {
			data.Before = record.Export(&record.Item{Record: before.Record}, super)
		}
	}
	body, err := json.Marshal(cloudEvent{
		SpecVersion: "1.0", ID: ev.ID,
		Source:  "/basalt/collections/" + ev.CollectionName,
		Type:    eventTypes[ev.Action],
		Subject: ev.RecordID,
		Time:    ev.Time.UTC().Format(time.RFC3339Nano), DataContentType: "application/json",
		Data: data,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding the webhook payload: %w", err)
	}
	return body, nil
}

// superusers is the superusers collection, or a stand-in with its id (all
// Export needs to recognise a superuser).
func (s *Service) superusers() *schema.Collection {
	if c := s.cols.Lookup(schema.SuperusersID); c != nil {
		return c
	}
	return &schema.Collection{ID: schema.SuperusersID}
}
