package schema

import "encoding/json"

// OAuth2Provider is one OAuth2 provider of an auth collection, in
// PocketBase's shape. Name selects a preset (google, github, …) or the
// generic OpenID Connect provider (oidc, oidc2, oidc3); the URLs, when set,
// replace the preset's. ClientSecret is stored but never sent to clients.
type OAuth2Provider struct {
	Name         string `json:"name"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
	AuthURL      string `json:"authURL"`
	TokenURL     string `json:"tokenURL"`
	UserInfoURL  string `json:"userInfoURL"`
	DisplayName  string `json:"displayName"`
	// PKCE overrides the preset's choice when set.
	PKCE *bool `json:"pkce"`
	// Extra holds provider specific options (for OpenID Connect: issuer,
	// jwksURL, issuers, scopes).
	Extra map[string]any `json:"extra"`
}

// OAuth2ProviderNames returns the provider names Basalt knows, sorted: the
// presets and the generic OpenID Connect provider (up to three times).
func OAuth2ProviderNames() []string {
	return []string{"apple", "github", "gitlab", "google", "microsoft", "oidc", "oidc2", "oidc3"}
}

// OAuth2Problem is one problem of an OAuth2 configuration: the index of
// the provider, the key at fault ("name" or "clientId") and what is wrong.
type OAuth2Problem struct {
	Index   int
	Key     string
	Message string
}

// Problems lists what is wrong with the configuration, at most one problem
// per provider: unknown or repeated provider names, and providers without
// a client id.
func (o *OAuth2) Problems() []OAuth2Problem {
	var out []OAuth2Problem
	seen := map[string]bool{}
	known := map[string]bool{}
	for _, n := range OAuth2ProviderNames() {
		known[n] = true
	}
	for i, p := range o.Providers {
		switch {
		case !known[p.Name]:
			out = append(out, OAuth2Problem{i, "name", "Unknown OAuth2 provider \"" + p.Name + "\"."})
		case seen[p.Name]:
			out = append(out, OAuth2Problem{i, "name", "OAuth2 provider \"" + p.Name + "\" is configured twice."})
		case p.ClientID == "":
			out = append(out, OAuth2Problem{i, "clientId", "OAuth2 provider \"" + p.Name + "\" needs a clientId."})
		}
		seen[p.Name] = true
	}
	return out
}

// Provider returns the configured provider named name, or nil.
func (o *OAuth2) Provider(name string) *OAuth2Provider {
	for i := range o.Providers {
		if o.Providers[i].Name == name {
			return &o.Providers[i]
		}
	}
	return nil
}

// UnmarshalJSON decodes o over its current value: a provider submitted
// without a clientSecret keeps the secret it had under the same name (the
// secret is never sent to clients, so they cannot send it back), and an
// absent "providers" key keeps the providers.
func (o *OAuth2) UnmarshalJSON(b []byte) error {
	type plain OAuth2
	prev := o.Providers
	next := plain(*o)
	next.Providers = nil
	if err := json.Unmarshal(b, &next); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	if _, ok := keys["providers"]; !ok {
		next.Providers = prev
	}
	old := OAuth2{Providers: prev}
	for i := range next.Providers {
		p := &next.Providers[i]
		if p.ClientSecret == "" {
			if before := old.Provider(p.Name); before != nil {
				p.ClientSecret = before.ClientSecret
			}
		}
	}
	*o = OAuth2(next)
	return nil
}

func cloneProviders(list []OAuth2Provider) []OAuth2Provider {
	if list == nil {
		return nil
	}
	out := make([]OAuth2Provider, len(list))
	for i, p := range list {
		if p.PKCE != nil {
			v := *p.PKCE
			p.PKCE = &v
		}
		if p.Extra != nil {
			extra := make(map[string]any, len(p.Extra))
			for k, v := range p.Extra {
				extra[k] = v
			}
			p.Extra = extra
		}
		out[i] = p
	}
	return out
}
