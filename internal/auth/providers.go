package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/basalt-dev/basalt/internal/schema"
)

// preset describes a known OAuth2 provider: its endpoints, scopes and how
// its user data maps to an ExternalUser. A provider configuration may
// replace every URL (authURL, tokenURL, userInfoURL, extra.jwksURL,
// extra.issuer), which is how tests point a preset at a loopback server.
type preset struct {
	DisplayName string
	AuthURL     string
	TokenURL    string
	UserInfoURL string
	Scopes      []string
	PKCE        bool
	// OIDC providers are configured by issuer (discovery) and verify the
	// ID token of the token response.
	OIDC bool
	// IDToken providers have no user info endpoint: the user is the
	// verified ID token's claims (Apple). Issuer and JWKSURL verify it.
	IDToken bool
	Issuer  string
	JWKSURL string
	// AuthParams are added to the authorization URL.
	AuthParams map[string]string
	// User maps the raw user data to the external user.
	User func(raw map[string]any) ExternalUser
	// Emails, when set, completes a user without a verified email (GitHub).
	Emails func(ctx context.Context, client *http.Client, userInfoURL string, tok *oauth2.Token) (string, error)
}

// presetNames lists the names presetFor knows, sorted.
func presetNames() []string { return schema.OAuth2ProviderNames() }

// presetFor returns the preset of a provider name.
func presetFor(name string) (preset, bool) {
	switch name {
	case "google":
		return preset{DisplayName: "Google", PKCE: true,
			AuthURL:     "https://accounts.google.com/o/oauth2/v2/auth",
			TokenURL:    "https://oauth2.googleapis.com/token",
			UserInfoURL: "https://www.googleapis.com/oauth2/v3/userinfo",
			Scopes:      []string{"https://www.googleapis.com/auth/userinfo.profile", "https://www.googleapis.com/auth/userinfo.email"},
			User:        oidcUser}, true
	case "github":
		return preset{DisplayName: "GitHub", PKCE: true,
			AuthURL:     "https://github.com/login/oauth/authorize",
			TokenURL:    "https://github.com/login/oauth/access_token",
			UserInfoURL: "https://api.github.com/user",
			Scopes:      []string{"read:user", "user:email"},
			User:        githubUser, Emails: githubEmail}, true
	case "gitlab":
		return preset{DisplayName: "GitLab", PKCE: true,
			AuthURL:     "https://gitlab.com/oauth/authorize",
			TokenURL:    "https://gitlab.com/oauth/token",
			UserInfoURL: "https://gitlab.com/api/v4/user",
			Scopes:      []string{"read_user"},
			User:        gitlabUser}, true
	case "microsoft":
		return preset{DisplayName: "Microsoft", PKCE: true,
			AuthURL:     "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
			TokenURL:    "https://login.microsoftonline.com/common/oauth2/v2.0/token",
			UserInfoURL: "https://graph.microsoft.com/v1.0/me",
			Scopes:      []string{"User.Read"},
			User:        microsoftUser}, true
	case "apple":
		return preset{DisplayName: "Apple", PKCE: true, IDToken: true,
			AuthURL:    "https://appleid.apple.com/auth/authorize",
			TokenURL:   "https://appleid.apple.com/auth/token",
			Issuer:     "https://appleid.apple.com",
			JWKSURL:    "https://appleid.apple.com/auth/keys",
			Scopes:     []string{"name", "email"},
			AuthParams: map[string]string{"response_mode": "form_post"},
			User:       oidcUser}, true
	case "oidc", "oidc2", "oidc3":
		return preset{DisplayName: "OpenID Connect", PKCE: true, OIDC: true,
			Scopes: []string{"openid", "email", "profile"},
			User:   oidcUser}, true
	}
	return preset{}, false
}

// ExternalUser is the user an OAuth2 provider signed in, mapped to
// PocketBase's fields. Email is set only when the provider vouches for it.
type ExternalUser struct {
	ID, Name, Username, Email, AvatarURL string
	RawUser                              map[string]any
}

// oidcUser maps OpenID Connect standard claims (Google, Apple, any OIDC
// provider). The email counts only when email_verified is true.
func oidcUser(raw map[string]any) ExternalUser {
	u := ExternalUser{ID: claimText(raw["sub"]), Name: claimText(raw["name"]),
		Username: claimText(raw["preferred_username"]), AvatarURL: claimText(raw["picture"]), RawUser: raw}
	if truthy(raw["email_verified"]) {
		u.Email = claimText(raw["email"])
	}
	return u
}

func githubUser(raw map[string]any) ExternalUser {
	// GitHub's public email is not necessarily verified: githubEmail asks
	// for the verified primary address instead.
	return ExternalUser{ID: claimText(raw["id"]), Name: claimText(raw["name"]), Username: claimText(raw["login"]),
		AvatarURL: claimText(raw["avatar_url"]), RawUser: raw}
}

func gitlabUser(raw map[string]any) ExternalUser {
	// /api/v4/user returns the primary email, which GitLab has confirmed.
	return ExternalUser{ID: claimText(raw["id"]), Name: claimText(raw["name"]), Username: claimText(raw["username"]),
		Email: claimText(raw["email"]), AvatarURL: claimText(raw["avatar_url"]), RawUser: raw}
}

func microsoftUser(raw map[string]any) ExternalUser {
	return ExternalUser{ID: claimText(raw["id"]), Name: claimText(raw["displayName"]), Email: claimText(raw["mail"]), RawUser: raw}
}

// githubEmail returns the verified primary email of a GitHub user from the
// emails endpoint beside userInfoURL ("" when there is none).
func githubEmail(ctx context.Context, client *http.Client, userInfoURL string, tok *oauth2.Token) (string, error) {
	data, err := fetchJSON(ctx, client, strings.TrimSuffix(userInfoURL, "/")+"/emails", tok)
	if err != nil {
		return "", err
	}
	var emails []struct {
		Email    string `json:"email"`
		Verified bool   `json:"verified"`
		Primary  bool   `json:"primary"`
	}
	if err := json.Unmarshal(data, &emails); err != nil {
		return "", fmt.Errorf("decoding github emails: %w", err)
	}
	for _, e := range emails {
		if e.Verified && e.Primary {
			return e.Email, nil
		}
	}
	return "", nil
}

// fetchJSON GETs url with the access token and returns the body.
func fetchJSON(ctx context.Context, client *http.Client, url string, tok *oauth2.Token) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	tok.SetAuthHeader(req)
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		return nil, fmt.Errorf("GET %s: status %d", url, res.StatusCode)
	}
	return body, nil
}

// claimText renders a JSON scalar as a string ("" for anything else).
func claimText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// truthy reads a boolean claim that some providers send as a string.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}
