package schema

import (
	"encoding/json"
	"testing"
)

func TestOAuth2KeepsSecretsByName(t *testing.T) {
	c := NewCollection(TypeAuth, "people", func() string { return "s" })
	c.OAuth2.Providers = []OAuth2Provider{{Name: "google", ClientID: "g", ClientSecret: "gs"}, {Name: "github", ClientID: "h", ClientSecret: "hs"}}
	next := c.Clone()
	// Reordered, one secret omitted, one replaced, one provider new.
	body := `{"oauth2":{"providers":[{"name":"github","clientId":"h2"},{"name":"google","clientId":"g","clientSecret":"new"},{"name":"oidc","clientId":"o"}]}}`
	if err := json.Unmarshal([]byte(body), next); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range next.OAuth2.Providers {
		got[p.Name] = p.ClientSecret
	}
	want := map[string]string{"github": "hs", "google": "new", "oidc": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("secret of %s = %q, want %q", k, got[k], v)
		}
	}
	if c.OAuth2.Providers[0].ClientSecret != "gs" {
		t.Error("decoding changed the original")
	}
	// Without "providers" the providers stay.
	other := c.Clone()
	if err := json.Unmarshal([]byte(`{"oauth2":{"enabled":true}}`), other); err != nil {
		t.Fatal(err)
	}
	if len(other.OAuth2.Providers) != 2 || !other.OAuth2.Enabled {
		t.Errorf("providers = %+v", other.OAuth2)
	}
	pub := c.Public()
	for _, p := range pub.OAuth2.Providers {
		if p.ClientSecret != "" {
			t.Errorf("public %s has its secret", p.Name)
		}
	}
	if c.OAuth2.Providers[1].ClientSecret != "hs" {
		t.Error("Public changed the original")
	}
}
