// Package auth is the authentication service: it signs in auth records
// (password, one-time password, multi-factor), issues, refreshes and
// impersonates their tokens, runs the email flows (verification, password
// reset, email change) and resolves the token of an incoming request to its
// record. Access rules stay in the record service.
//
// auth imports the domain model, the storage and mail ports, leaf packages
// and the record and settings services; never adapters or transports.
package auth

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/password"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/ratelimit"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/token"
)

// Service authenticates auth records.
type Service struct {
	store   store.Store
	cols    record.Collections
	records *record.Service
	now     func() time.Time
	// dummies holds a dummy hash per bcrypt cost, checked for unknown
	// identities so that both paths of a sign-in take the same time (see
	// checkPassword).
	dummyMu sync.Mutex
	dummies map[int]string

	logger   *slog.Logger
	mailer   Mailer
	app      func() settings.Meta
	buckets  Buckets
	throttle Throttle
	// keys holds the asymmetric signing keys (WithSigning).
	keys keyRing
	// oauth caches OAuth2 discovery and key sets (see oauth2.go).
	oauth oauthState

	// Background work started by requests (see later).
	bgMu     sync.Mutex
	bgClosed bool
	bg       sync.WaitGroup
	bgSlots  chan struct{}

	// Audit records sign-ins and their failures, and impersonations; nil
	// records nothing.
	Audit *audit.Log
}

// New returns the auth service. Without WithMail, mails are only logged.
func New(st store.Store, cols record.Collections, records *record.Service, now func() time.Time, opts ...Option) *Service {
	dummy, err := password.Hash(random.Secret(), password.DefaultCost)
	if err != nil {
		panic("auth: bcrypt failed: " + err.Error()) // only on a broken crypto source
	}
	s := &Service{store: st, cols: cols, records: records, now: now, dummies: map[int]string{password.DefaultCost: dummy},
		logger: slog.New(slog.DiscardHandler), throttle: DefaultThrottle(),
		app: func() settings.Meta { return settings.Defaults().Meta }, bgSlots: make(chan struct{}, maxBackground)}
	for _, o := range opts {
		o(s)
	}
	if s.mailer == nil {
		s.mailer = logMailer{s.logger}
	}
	if s.buckets == nil {
		s.buckets = localBuckets{ratelimit.New(now)}
	}
	return s
}

// internal returns the request identity used for lookups that bypass rules.
func internal() *record.Request {
	return &record.Request{Method: "GET", Context: "default",
		Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}}
}

// Authenticate resolves an Authorization header value ("TOKEN" or "Bearer
// TOKEN") to its auth record and claims. An empty header gives nil, nil; an
// invalid or expired token gives an Unauthenticated error.
func (s *Service) Authenticate(ctx context.Context, header string) (*schema.Record, *token.Claims, error) {
	raw := strings.TrimSpace(header)
	if len(raw) > 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if raw == "" {
		return nil, nil, nil
	}
	invalid := apperr.New(apperr.Unauthenticated, "The request requires valid record authorization token.")
	claims, err := token.Unverified(raw)
	if err != nil || claims.Type != token.TypeAuth {
		return nil, nil, invalid
	}
	c := s.cols.Lookup(claims.CollectionID)
	if c == nil || !c.IsAuth() || c.ID != claims.CollectionID {
		return nil, nil, invalid
	}
	r, err := s.byID(ctx, c, claims.ID)
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil, nil, invalid
		}
		return nil, nil, err
	}
	verified, err := s.verifyToken(ctx, raw, r, c.AuthToken)
	if err != nil || verified.Type != token.TypeAuth {
		return nil, nil, invalid
	}
	return r, verified, nil
}

func signingKey(r *schema.Record, cfg schema.TokenConfig) []byte {
	return []byte(r.String("tokenKey") + cfg.Secret)
}

func (s *Service) byID(ctx context.Context, c *schema.Collection, id string) (*schema.Record, error) {
	q := &store.Query{Collection: c, Schema: s.cols.Lookup, Request: internal(), IDs: []string{id}, Limit: 1}
	list, err := s.store.FindRecords(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, apperr.New(apperr.NotFound, "The requested resource wasn't found.")
	}
	return list[0], nil
}

// Token returns a new auth token for r.
func (s *Service) Token(r *schema.Record, refreshable bool) (string, error) {
	c := r.Collection
	claims := token.Claims{ID: r.ID(), Type: token.TypeAuth, CollectionID: c.ID, Refreshable: refreshable}
	return s.signToken(context.Background(), r, c.AuthToken, claims, time.Duration(c.AuthToken.Duration)*time.Second)
}

// PasswordLogin is the input of WithPassword.
type PasswordLogin struct {
	Identity, Password string
	// IdentityField restricts the lookup to one identity field ("" = any).
	IdentityField string
	// MFAID continues a multi-factor sign-in started with another method.
	MFAID string
	// IP is the client's address, for the sign-in origin.
	IP string
}

// Login is the outcome of a sign-in step: a token for Record, or, when the
// collection requires a second factor, only MFAID, the session the client
// completes by signing in again with a different method.
type Login struct {
	Token  string
	Record *schema.Record
	MFAID  string
}

// WithPassword signs in to an auth collection with an identity (any of the
// collection's identity fields, or in.IdentityField when given) and password.
func (s *Service) WithPassword(ctx context.Context, req *record.Request, collection string, in PasswordLogin) (login *Login, err error) {
	defer func() { s.auditSignIn(ctx, methodPassword, collection, in.Identity, login, err) }()
	c, err := s.authCollection(collection)
	if err != nil {
		return nil, err
	}
	if !c.PasswordAuth.Enabled {
		return nil, apperr.New(apperr.Forbidden, "The collection is not configured to allow password authentication.")
	}
	fe := apperr.FieldErrors{}
	if in.Identity == "" {
		fe.Add("identity", "validation_required", "Cannot be blank.")
	}
	if in.Password == "" {
		fe.Add("password", "validation_required", "Cannot be blank.")
	}
	if len(in.Identity) > 255 {
		fe.Add("identity", "validation_length_out_of_range", "The length must be between 1 and 255.")
	}
	fields := c.PasswordAuth.IdentityFields
	if in.IdentityField != "" {
		if !contains(fields, in.IdentityField) {
			fe.Add("identityField", "validation_in_invalid", "Must be a valid value.")
		}
		fields = []string{in.IdentityField}
	}
	if err := fe.Err(msgValidation); err != nil {
		return nil, err
	}
	succeeded, err := s.loginAttempt(ctx, c, in.IP, in.Identity)
	if err != nil {
		return nil, err
	}
	r, err := s.findByIdentity(ctx, c, fields, in.Identity)
	if err != nil {
		return nil, err
	}
	if !s.checkPassword(c, r, in.Password) {
		return nil, apperr.New(apperr.Invalid, "Failed to authenticate.")
	}
	succeeded()
	return s.finish(ctx, req, in.IP, r, methodPassword, in.MFAID)
}

// finish completes a sign-in of r with method from ip: the authRule, then
// MFA, then a refreshable token and the sign-in origin (with the new
// device alert).
func (s *Service) finish(ctx context.Context, req *record.Request, ip string, r *schema.Record, method, mfaID string) (*Login, error) {
	if err := s.checkAuthRule(ctx, req, r); err != nil {
		return nil, err
	}
	pending, err := s.checkMFA(ctx, req, r, method, mfaID)
	if err != nil {
		return nil, err
	}
	if pending != "" {
		return &Login{Record: r, MFAID: pending}, nil
	}
	tok, err := s.Token(r, true)
	if err != nil {
		return nil, err
	}
	s.recordOrigin(ctx, req, ip, r)
	return &Login{Token: tok, Record: r}, nil
}

// authCollection returns the auth collection named or identified by nameOrID.
func (s *Service) authCollection(nameOrID string) (*schema.Collection, error) {
	c := s.cols.Lookup(nameOrID)
	if c == nil || !c.IsAuth() {
		return nil, apperr.New(apperr.NotFound, "Missing or invalid auth collection context.")
	}
	return c, nil
}

func (s *Service) findByIdentity(ctx context.Context, c *schema.Collection, fields []string, identity string) (*schema.Record, error) {
	for _, name := range fields {
		f := c.Field(name)
		if f == nil {
			continue
		}
		filter := name + " = {:identity}"
		value := identity
		if f.Type == schema.TypeEmail {
			filter = name + ":lower = {:identity}"
			value = strings.ToLower(identity)
		}
		q := &store.Query{Collection: c, Schema: s.cols.Lookup, Request: internal(),
			Filters: []string{filter}, Params: map[string]any{"identity": value}, Limit: 2}
		list, err := s.store.FindRecords(ctx, q)
		if err != nil {
			return nil, err
		}
		if len(list) == 1 {
			return list[0], nil
		}
	}
	return nil, nil
}

// checkAuthRule applies the collection's authRule to a record that proved its identity.
func (s *Service) checkAuthRule(ctx context.Context, req *record.Request, r *schema.Record) error {
	c := r.Collection
	if c.ID == schema.SuperusersID {
		return nil
	}
	denied := apperr.New(apperr.Forbidden, "The request doesn't satisfy the collection requirements to authenticate.")
	if c.AuthRule == nil {
		return denied
	}
	if strings.TrimSpace(*c.AuthRule) == "" {
		return nil
	}
	sub := record.Request{Method: "POST", Context: "password", Auth: r}
	if req != nil {
		sub.Headers, sub.Query, sub.Method = req.Headers, req.Query, req.Method
	}
	q := &store.Query{Collection: c, Schema: s.cols.Lookup, Request: &sub, IDs: []string{r.ID()}, Filters: []string{*c.AuthRule}}
	n, err := s.store.CountRecords(ctx, q)
	if err != nil {
		return err
	}
	if n == 0 {
		return denied
	}
	return nil
}

// Refresh issues a new token for the authenticated record of collection.
func (s *Service) Refresh(ctx context.Context, req *record.Request, claims *token.Claims, collection string) (string, *schema.Record, error) {
	c := s.cols.Lookup(collection)
	if c == nil || !c.IsAuth() {
		return "", nil, apperr.New(apperr.NotFound, "Missing or invalid auth collection context.")
	}
	if req == nil || req.Auth == nil {
		return "", nil, apperr.New(apperr.Unauthenticated, "The request requires valid record authorization token.")
	}
	if req.Auth.Collection.ID != c.ID {
		return "", nil, apperr.New(apperr.Forbidden, "The request requires valid record authorization token of the same collection.")
	}
	if claims == nil || !claims.Refreshable {
		return "", nil, apperr.New(apperr.Forbidden, "The current auth token is not refreshable.")
	}
	r, err := s.byID(ctx, c, req.Auth.ID())
	if err != nil {
		return "", nil, err
	}
	if err := s.checkAuthRule(ctx, req, r); err != nil {
		return "", nil, err
	}
	tok, err := s.Token(r, true)
	return tok, r, err
}

// Methods describes the sign-in methods of an auth collection.
func (s *Service) Methods(ctx context.Context, collection string) (map[string]any, error) {
	c := s.cols.Lookup(collection)
	if c == nil || !c.IsAuth() {
		return nil, apperr.New(apperr.NotFound, "Missing or invalid auth collection context.")
	}
	fields := c.PasswordAuth.IdentityFields
	if fields == nil {
		fields = []string{}
	}
	oauth2, providers := s.oauth2Methods(ctx, c)
	return map[string]any{
		"password": map[string]any{"enabled": c.PasswordAuth.Enabled, "identityFields": fields},
		"oauth2":   oauth2,
		"mfa":      map[string]any{"enabled": c.MFA.Enabled, "duration": c.MFA.Duration},
		"otp":      map[string]any{"enabled": c.OTP.Enabled, "duration": c.OTP.Duration},
		// Kept for older SDK clients.
		"authProviders":    providers,
		"usernamePassword": c.PasswordAuth.Enabled && contains(fields, "username"),
		"emailPassword":    c.PasswordAuth.Enabled && contains(fields, "email"),
	}, nil
}

// UpsertSuperuser creates a superuser or sets an existing one's password.
func (s *Service) UpsertSuperuser(ctx context.Context, email, pass string) error {
	c := s.cols.Lookup(schema.SuperusersID)
	r, err := s.findByIdentity(ctx, c, []string{"email"}, email)
	if err != nil {
		return err
	}
	data := map[string]any{"password": pass, "passwordConfirm": pass}
	if r == nil {
		data["email"] = email
		_, err = s.records.Create(ctx, internal(), schema.SuperusersID, record.Input{Data: data}, "")
	} else {
		_, err = s.records.Update(ctx, internal(), schema.SuperusersID, r.ID(), record.Input{Data: data}, "")
	}
	return err
}

// DeleteSuperuser deletes the superuser with email (NotFound if none).
func (s *Service) DeleteSuperuser(ctx context.Context, email string) error {
	c := s.cols.Lookup(schema.SuperusersID)
	r, err := s.findByIdentity(ctx, c, []string{"email"}, email)
	if err != nil {
		return err
	}
	if r == nil {
		return apperr.New(apperr.NotFound, "No superuser with that email.")
	}
	return s.records.Delete(ctx, internal(), schema.SuperusersID, r.ID())
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// FileToken returns a short-lived token that lets r download protected files.
func (s *Service) FileToken(r *schema.Record) (string, error) {
	c := r.Collection
	claims := token.Claims{ID: r.ID(), Type: token.TypeFile, CollectionID: c.ID}
	return s.signToken(context.Background(), r, c.FileToken, claims, time.Duration(c.FileToken.Duration)*time.Second)
}

// FileTokenRecord verifies a file token and returns the record it was
// issued to, or an Unauthenticated error.
func (s *Service) FileTokenRecord(ctx context.Context, raw string) (*schema.Record, error) {
	invalid := apperr.New(apperr.Unauthenticated, "Invalid or expired file token.")
	claims, err := token.Unverified(raw)
	if err != nil || claims.Type != token.TypeFile {
		return nil, invalid
	}
	c := s.cols.Lookup(claims.CollectionID)
	if c == nil || !c.IsAuth() || c.ID != claims.CollectionID {
		return nil, invalid
	}
	r, err := s.byID(ctx, c, claims.ID)
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil, invalid
		}
		return nil, err
	}
	if v, err := s.verifyToken(ctx, raw, r, c.FileToken); err != nil || v.Type != token.TypeFile {
		return nil, invalid
	}
	return r, nil
}
