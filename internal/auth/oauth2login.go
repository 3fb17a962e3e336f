package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// OAuth2Login is the input of WithOAuth2.
type OAuth2Login struct {
	Provider, Code, CodeVerifier, RedirectURL string
	// CreateData is used when the sign-in creates a new auth record.
	CreateData map[string]any
	// MFAID continues a multi-factor sign-in started with another method.
	MFAID string
	// IP is the client's address, for the sign-in origin.
	IP string
}

// OAuth2Meta is what an OAuth2 sign-in learned from the provider; the REST
// API answers it as the auth response's meta.
type OAuth2Meta struct {
	User         ExternalUser
	AccessToken  string
	RefreshToken string
	Expiry       time.Time
	// IsNew reports whether the sign-in created the auth record.
	IsNew bool
}

// WithOAuth2 signs in to an auth collection with an OAuth2 authorization
// code: it exchanges the code (with the PKCE verifier), fetches the user,
// then signs in the record linked to that provider account, or links the
// signed-in record of req, or links the record with the provider's
// verified email, or creates a record from in.CreateData and the
// collection's mappedFields. The authRule and MFA apply as for any
// sign-in.
func (s *Service) WithOAuth2(ctx context.Context, req *record.Request, collection string, in OAuth2Login) (*Login, *OAuth2Meta, error) {
	login, meta, err := s.withOAuth2(ctx, req, collection, in)
	s.auditSignIn(ctx, "oauth2", collection, in.Provider, login, err)
	return login, meta, err
}

func (s *Service) withOAuth2(ctx context.Context, req *record.Request, collection string, in OAuth2Login) (*Login, *OAuth2Meta, error) {
	c, err := s.authCollection(collection)
	if err != nil {
		return nil, nil, err
	}
	if !c.OAuth2.Enabled {
		return nil, nil, apperr.New(apperr.Forbidden, "The collection is not configured to allow OAuth2 authentication.")
	}
	fe := apperr.FieldErrors{}
	cfg := c.OAuth2.Provider(in.Provider)
	switch {
	case in.Provider == "":
		fe.Add("provider", "validation_required", "Cannot be blank.")
	case cfg == nil:
		fe.Add("provider", "validation_invalid_provider", "Provider with name \""+in.Provider+"\" is missing or is not enabled.")
	}
	if in.Code == "" {
		fe.Add("code", "validation_required", "Cannot be blank.")
	}
	if in.RedirectURL == "" {
		fe.Add("redirectURL", "validation_required", "Cannot be blank.")
	}
	if err := fe.Err("An error occurred while loading the submitted data."); err != nil {
		return nil, nil, err
	}
	p, err := s.provider(ctx, *cfg)
	if err != nil {
		return nil, nil, apperr.Wrap(apperr.Internal, "Failed to init provider "+in.Provider+".", err)
	}
	tok, user, err := s.exchange(ctx, p, in.Code, in.CodeVerifier, in.RedirectURL)
	if err != nil {
		return nil, nil, err
	}
	meta := &OAuth2Meta{User: user, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}

	links, err := s.system(schema.ExternalAuthsID)
	if err != nil {
		return nil, nil, err
	}
	r, linked, err := s.linkedRecord(ctx, links, c, in.Provider, user.ID)
	if err != nil {
		return nil, nil, err
	}
	signedIn := req != nil && req.Auth != nil && req.Auth.Collection.ID == c.ID
	switch {
	case r != nil:
	case signedIn:
		if r, err = s.byID(ctx, c, req.Auth.ID()); err != nil {
			return nil, nil, err
		}
	case user.Email != "":
		if r, err = s.findByIdentity(ctx, c, []string{"email"}, user.Email); err != nil {
			return nil, nil, err
		}
	}
	if r == nil {
		if r, err = s.createFromOAuth2(ctx, req, c, user, in.CreateData); err != nil {
			return nil, nil, err
		}
		meta.IsNew = true
	} else if r, err = s.trustOAuth2Email(ctx, req, r, user); err != nil {
		return nil, nil, err
	}
	if !linked {
		if err := s.link(ctx, links, r, in.Provider, user.ID); err != nil {
			return nil, nil, err
		}
	}
	login, err := s.finish(ctx, req, in.IP, r, methodOAuth2, in.MFAID)
	if err != nil {
		return nil, nil, err
	}
	return login, meta, nil
}

// linkedRecord returns the record of collection c linked to the provider
// account, if any. A link whose record is gone is removed.
func (s *Service) linkedRecord(ctx context.Context, links, c *schema.Collection, provider, providerID string) (*schema.Record, bool, error) {
	q := &store.Query{Collection: links, Schema: s.cols.Lookup, Request: internal(),
		Filters: []string{"collectionRef = {:c} && provider = {:p} && providerId = {:id}"},
		Params:  map[string]any{"c": c.ID, "p": provider, "id": providerID}, Limit: 1}
	rows, err := s.store.FindRecords(ctx, q)
	if err != nil || len(rows) == 0 {
		return nil, false, err
	}
	r, err := s.byID(ctx, c, rows[0].String("recordRef"))
	if apperr.CodeOf(err) == apperr.NotFound {
		if _, err := s.takeRow(ctx, links, rows[0].ID()); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// link records that r signs in with the provider account.
func (s *Service) link(ctx context.Context, links *schema.Collection, r *schema.Record, provider, providerID string) error {
	row := schema.NewRecord(links)
	now := schema.FormatTime(s.now())
	row.Data["id"] = random.ID()
	row.Data["collectionRef"], row.Data["recordRef"] = r.Collection.ID, r.ID()
	row.Data["provider"], row.Data["providerId"] = provider, providerID
	row.Data["created"], row.Data["updated"] = now, now
	err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, row) })
	if apperr.CodeOf(err) == apperr.Conflict || apperr.CodeOf(err) == apperr.Invalid {
		// The record is already linked to another account of the provider.
		return apperr.Wrap(apperr.Invalid, "Failed to authenticate.", err)
	}
	return err
}

// createFromOAuth2 creates the auth record of a first OAuth2 sign-in, as
// the caller (the collection's createRule applies, in the "oauth2"
// request context).
func (s *Service) createFromOAuth2(ctx context.Context, req *record.Request, c *schema.Collection, u ExternalUser, createData map[string]any) (*schema.Record, error) {
	if c.ID == schema.SuperusersID {
		return nil, apperr.New(apperr.Invalid, "Failed to authenticate.")
	}
	data := map[string]any{}
	for k, v := range createData {
		data[k] = v
	}
	data["email"] = u.Email
	if v, _ := data["password"].(string); v == "" {
		p := random.Secret()
		data["password"], data["passwordConfirm"] = p, p
	}
	mapped := c.OAuth2.MappedFields
	set := func(key, value string) {
		name := mapped[key]
		if name == "" || value == "" || c.Field(name) == nil {
			return
		}
		if _, given := data[name]; !given {
			data[name] = value
		}
	}
	set("id", u.ID)
	set("name", u.Name)
	if name := mapped["username"]; name != "" && u.Username != "" {
		if taken, err := s.findByIdentity(ctx, c, []string{name}, u.Username); err == nil && taken == nil {
			set("username", u.Username)
		}
	}
	// A file field would need the avatar downloaded; only URL-like fields
	// take the avatar URL.
	if f := c.Field(mapped["avatarURL"]); f != nil && f.Type != schema.TypeFile {
		set("avatarURL", u.AvatarURL)
	}
	sub := record.Request{Method: "POST", Context: methodOAuth2}
	if req != nil {
		sub = *req
		sub.Method, sub.Context = "POST", methodOAuth2
	}
	item, err := s.records.Create(ctx, &sub, c.ID, record.Input{Data: data}, "")
	if err != nil {
		return nil, err
	}
	r := item.Record
	if !r.Bool("verified") && r.String("email") == u.Email {
		// The provider vouched for the email (or there is none).
		updated, err := s.records.Update(ctx, internal(), c.ID, r.ID(), record.Input{Data: map[string]any{"verified": true}}, "")
		if err != nil {
			return nil, err
		}
		r = updated.Record
	}
	return r, nil
}

// trustOAuth2Email updates an existing record for the provider's verified
// email, as PocketBase does: an unverified record not signed in by the
// caller gets a random password (someone may have registered the address
// before its owner), an empty email is filled, and a matching email
// becomes verified.
func (s *Service) trustOAuth2Email(ctx context.Context, req *record.Request, r *schema.Record, u ExternalUser) (*schema.Record, error) {
	data := map[string]any{}
	signedIn := req != nil && req.Auth != nil && req.Auth.ID() == r.ID() && req.Auth.Collection.ID == r.Collection.ID
	email := r.String("email")
	if !signedIn && email != "" && !r.Bool("verified") {
		p := random.Secret()
		data["password"], data["passwordConfirm"] = p, p
	}
	if email == "" && u.Email != "" {
		data["email"] = u.Email
		email = u.Email
	}
	if !r.Bool("verified") && (email == "" || email == u.Email) {
		data["verified"] = true
	}
	if len(data) == 0 {
		return r, nil
	}
	updated, err := s.records.Update(ctx, internal(), r.Collection.ID, r.ID(), record.Input{Data: data}, "")
	if err != nil {
		return nil, rewrap(err, "Failed to authenticate.")
	}
	return updated.Record, nil
}

// decodeObject decodes a JSON object keeping numbers exact (provider user
// ids can exceed float64 precision).
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	out := map[string]any{}
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}
