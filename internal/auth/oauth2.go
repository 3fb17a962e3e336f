package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/schema"
)

// methodOAuth2 names OAuth2 sign-ins in _mfas.
const methodOAuth2 = "oauth2"

// discoveryTTL bounds how long an OpenID Connect discovery document is
// reused before it is fetched again.
const discoveryTTL = time.Hour

// WithHTTPClient makes the service's OAuth2 requests (discovery, keys,
// token exchange, user info) with c instead of a client with a 30 second
// timeout.
func WithHTTPClient(c *http.Client) Option {
	return func(s *Service) { s.oauth.client = c }
}

// oauthState is the service's OAuth2 state that outlives a request: the
// HTTP client and the discovered providers and key sets (by URL). Its zero
// value is ready to use.
type oauthState struct {
	mu        sync.Mutex
	client    *http.Client
	providers map[string]discovered
	keySets   map[string]*oidc.RemoteKeySet
}

type discovered struct {
	provider *oidc.Provider
	at       time.Time
}

func (o *oauthState) httpClient() *http.Client {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client == nil {
		o.client = &http.Client{Timeout: 30 * time.Second}
	}
	return o.client
}

// discover returns the provider of an OpenID Connect issuer, from the
// cache when it was discovered less than discoveryTTL ago.
func (s *Service) discover(ctx context.Context, issuer string) (*oidc.Provider, error) {
	client := s.oauth.httpClient()
	s.oauth.mu.Lock()
	d, ok := s.oauth.providers[issuer]
	s.oauth.mu.Unlock()
	if ok && s.now().Sub(d.at) < discoveryTTL {
		return d.provider, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", issuer, err)
	}
	s.oauth.mu.Lock()
	if s.oauth.providers == nil {
		s.oauth.providers = map[string]discovered{}
	}
	s.oauth.providers[issuer] = discovered{p, s.now()}
	s.oauth.mu.Unlock()
	return p, nil
}

// keySet returns the (shared, caching) key set of a JWKS URL.
func (s *Service) keySet(jwksURL string) *oidc.RemoteKeySet {
	client := s.oauth.httpClient()
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	if ks, ok := s.oauth.keySets[jwksURL]; ok {
		return ks
	}
	if s.oauth.keySets == nil {
		s.oauth.keySets = map[string]*oidc.RemoteKeySet{}
	}
	ks := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), client), jwksURL)
	s.oauth.keySets[jwksURL] = ks
	return ks
}

// provider is a configured OAuth2 provider ready to use.
type provider struct {
	cfg         schema.OAuth2Provider
	preset      preset
	pkce        bool
	conf        oauth2.Config
	userInfoURL string
	// verifier checks the ID token of the token response; nil for plain
	// OAuth2 providers.
	verifier *oidc.IDTokenVerifier
	// issuers, when set, replace the verifier's own issuer check.
	issuers []string
}

// provider builds the provider of a configuration: the preset of its name
// with the configured URLs and options over it.
func (s *Service) provider(ctx context.Context, cfg schema.OAuth2Provider) (*provider, error) {
	pre, ok := presetFor(cfg.Name)
	if !ok {
		return nil, fmt.Errorf("unknown OAuth2 provider %q", cfg.Name)
	}
	p := &provider{cfg: cfg, preset: pre, pkce: pre.PKCE}
	if cfg.PKCE != nil {
		p.pkce = *cfg.PKCE
	}
	endpoint := oauth2.Endpoint{AuthURL: or(cfg.AuthURL, pre.AuthURL), TokenURL: or(cfg.TokenURL, pre.TokenURL)}
	p.userInfoURL = or(cfg.UserInfoURL, pre.UserInfoURL)
	oidcConfig := &oidc.Config{ClientID: cfg.ClientID, Now: s.now}
	switch {
	case pre.OIDC && extraString(cfg.Extra, "issuer") != "":
		d, err := s.discover(ctx, extraString(cfg.Extra, "issuer"))
		if err != nil {
			return nil, err
		}
		found := d.Endpoint()
		endpoint.AuthURL = or(cfg.AuthURL, found.AuthURL)
		endpoint.TokenURL = or(cfg.TokenURL, found.TokenURL)
		p.userInfoURL = or(cfg.UserInfoURL, d.UserInfoEndpoint())
		p.verifier = d.Verifier(oidcConfig)
	case pre.OIDC && extraString(cfg.Extra, "jwksURL") != "":
		// PocketBase's way: explicit endpoints, a key set and the
		// accepted issuers.
		p.issuers = extraStrings(cfg.Extra, "issuers")
		oidcConfig.SkipIssuerCheck = true
		p.verifier = oidc.NewVerifier("", s.keySet(extraString(cfg.Extra, "jwksURL")), oidcConfig)
	case pre.IDToken:
		issuer := or(extraString(cfg.Extra, "issuer"), pre.Issuer)
		jwks := or(extraString(cfg.Extra, "jwksURL"), pre.JWKSURL)
		p.verifier = oidc.NewVerifier(issuer, s.keySet(jwks), oidcConfig)
	}
	if endpoint.AuthURL == "" || endpoint.TokenURL == "" {
		return nil, fmt.Errorf("OAuth2 provider %q has no authURL or tokenURL (set extra.issuer for OpenID Connect discovery)", cfg.Name)
	}
	if p.verifier == nil && p.userInfoURL == "" {
		return nil, fmt.Errorf("OAuth2 provider %q has no userInfoURL", cfg.Name)
	}
	scopes := pre.Scopes
	if list := extraStrings(cfg.Extra, "scopes"); len(list) > 0 {
		scopes = list
	}
	p.conf = oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: endpoint, Scopes: scopes}
	return p, nil
}

// displayName is the configured display name, else the preset's.
func (p *provider) displayName() string {
	return or(p.cfg.DisplayName, p.preset.DisplayName, p.cfg.Name)
}

// nonceFor derives the OpenID Connect nonce of an authorization request
// from its PKCE code verifier. The server keeps no state between
// auth-methods and auth-with-oauth2; the verifier, known only to the client
// until the token exchange, binds the ID token to the request that asked
// for it.
func nonceFor(codeVerifier string) string {
	sum := sha256.Sum256([]byte("basalt-oidc-nonce:" + codeVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ProviderInfo is one provider of an auth collection's auth-methods: the
// URL to send the user to and the PKCE pair the client keeps until the
// sign-in completes.
type ProviderInfo struct {
	Name                string `json:"name"`
	DisplayName         string `json:"displayName"`
	State               string `json:"state"`
	AuthURL             string `json:"authURL"`
	AuthURLLegacy       string `json:"authUrl"`
	CodeVerifier        string `json:"codeVerifier"`
	CodeChallenge       string `json:"codeChallenge"`
	CodeChallengeMethod string `json:"codeChallengeMethod"`
}

// oauth2Methods returns the oauth2 part of auth-methods. A provider that
// cannot be prepared (unknown name, failed discovery) is left out and
// logged.
func (s *Service) oauth2Methods(ctx context.Context, c *schema.Collection) (map[string]any, []ProviderInfo) {
	list := []ProviderInfo{}
	if !c.OAuth2.Enabled {
		return map[string]any{"enabled": false, "providers": list}, list
	}
	// A provider whose discovery hangs must not hold up the other methods.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, cfg := range c.OAuth2.Providers {
		p, err := s.provider(ctx, cfg)
		if err != nil {
			s.logger.Warn("skipping an OAuth2 provider in auth-methods", "collection", c.Name, "provider", cfg.Name, "err", err)
			continue
		}
		info := ProviderInfo{Name: cfg.Name, DisplayName: p.displayName(), State: random.String(random.Alnum, 30)}
		var opts []oauth2.AuthCodeOption
		for k, v := range p.preset.AuthParams {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
		verifier := random.String(random.Alnum, 43)
		if p.pkce {
			info.CodeVerifier = verifier
			info.CodeChallenge = oauth2.S256ChallengeFromVerifier(verifier)
			info.CodeChallengeMethod = "S256"
			opts = append(opts, oauth2.SetAuthURLParam("code_challenge", info.CodeChallenge),
				oauth2.SetAuthURLParam("code_challenge_method", "S256"))
		}
		if p.verifier != nil {
			// The verifier also carries the nonce, with or without PKCE.
			info.CodeVerifier = verifier
			opts = append(opts, oauth2.SetAuthURLParam("nonce", nonceFor(verifier)))
		}
		// The client appends its redirect URL.
		info.AuthURL = p.conf.AuthCodeURL(info.State, opts...) + "&redirect_uri="
		info.AuthURLLegacy = info.AuthURL
		list = append(list, info)
	}
	return map[string]any{"enabled": true, "providers": list}, list
}

// exchange trades an authorization code for tokens and the signed-in user.
func (s *Service) exchange(ctx context.Context, p *provider, code, codeVerifier, redirectURL string) (*oauth2.Token, ExternalUser, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := s.oauth.httpClient()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	conf := p.conf
	conf.RedirectURL = redirectURL
	var opts []oauth2.AuthCodeOption
	if p.pkce {
		opts = append(opts, oauth2.VerifierOption(codeVerifier))
	}
	tok, err := conf.Exchange(ctx, code, opts...)
	if err != nil {
		return nil, ExternalUser{}, apperr.Wrap(apperr.Invalid, "Failed to fetch OAuth2 token.", err)
	}
	u, err := s.fetchUser(ctx, client, p, tok, codeVerifier)
	if err != nil {
		return nil, ExternalUser{}, apperr.Wrap(apperr.Invalid, "Failed to fetch OAuth2 user.", err)
	}
	return tok, u, nil
}

// fetchUser verifies the ID token (OpenID Connect: signature, issuer,
// audience, expiry, nonce), reads the user info endpoint and maps both to
// an ExternalUser.
func (s *Service) fetchUser(ctx context.Context, client *http.Client, p *provider, tok *oauth2.Token, codeVerifier string) (ExternalUser, error) {
	claims := map[string]any{}
	if p.verifier != nil {
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			return ExternalUser{}, errors.New("the token response has no id_token")
		}
		idt, err := p.verifier.Verify(ctx, raw)
		if err != nil {
			return ExternalUser{}, fmt.Errorf("verifying the id_token: %w", err)
		}
		if len(p.issuers) > 0 && !contains(p.issuers, idt.Issuer) {
			return ExternalUser{}, fmt.Errorf("id_token issuer %q is not accepted", idt.Issuer)
		}
		want := nonceFor(codeVerifier)
		if codeVerifier == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(want)) != 1 {
			return ExternalUser{}, errors.New("id_token nonce mismatch")
		}
		if err := idt.Claims(&claims); err != nil {
			return ExternalUser{}, fmt.Errorf("decoding id_token claims: %w", err)
		}
	}
	if p.userInfoURL != "" {
		body, err := fetchJSON(ctx, client, p.userInfoURL, tok)
		if err != nil {
			return ExternalUser{}, fmt.Errorf("fetching user info: %w", err)
		}
		info, err := decodeObject(body)
		if err != nil {
			return ExternalUser{}, fmt.Errorf("decoding user info: %w", err)
		}
		if sub, ok := claims["sub"]; ok && claimText(info["sub"]) != "" && claimText(info["sub"]) != claimText(sub) {
			return ExternalUser{}, errors.New("user info subject differs from the id_token's")
		}
		for k, v := range info {
			claims[k] = v
		}
	}
	u := p.preset.User(claims)
	if u.Email == "" && p.preset.Emails != nil {
		email, err := p.preset.Emails(ctx, client, p.userInfoURL, tok)
		if err != nil {
			return ExternalUser{}, fmt.Errorf("fetching emails: %w", err)
		}
		u.Email = email
	}
	if u.ID == "" {
		return ExternalUser{}, errors.New("the provider returned no user id")
	}
	return u, nil
}

// OAuth2Providers lists the providers Basalt knows, for
// /api/collections/meta/oauth2-providers.
func OAuth2Providers() []map[string]any {
	out := []map[string]any{}
	for _, name := range presetNames() {
		p, _ := presetFor(name)
		out = append(out, map[string]any{"name": name, "displayName": p.DisplayName, "pkce": p.PKCE,
			"authURL": p.AuthURL, "tokenURL": p.TokenURL, "userInfoURL": p.UserInfoURL})
	}
	return out
}

func or(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func extraString(extra map[string]any, key string) string {
	v, _ := extra[key].(string)
	return strings.TrimSpace(v)
}

// extraStrings reads a list option given as a JSON array or a
// space-separated string.
func extraStrings(extra map[string]any, key string) []string {
	switch v := extra[key].(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
