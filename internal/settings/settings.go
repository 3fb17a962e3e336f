// Package settings holds the runtime settings an admin edits (application
// meta, SMTP, S3, backups, batch, rate limits, trusted proxy, superuser
// IPs). It keeps an in-memory snapshot, persists changes through the store
// under the "settings" param, and validates them with PocketBase's rules and
// error shapes.
//
// settings is a service: it imports the store port and leaf packages only,
// never a storage engine or a transport.
package settings

import (
	"encoding/json"
	"slices"
)

// ParamKey is the store param the settings are persisted under.
const ParamKey = "settings"

// Settings are the runtime settings, in PocketBase's JSON shape.
//
// Encoding a *Settings (or Settings) with encoding/json never reveals the
// secrets (smtp.password, s3.secret, backups.s3.secret): they are left out,
// as PocketBase does. Persistence uses a separate encoding that keeps them.
type Settings struct {
	Meta         Meta         `json:"meta"`
	Logs         Logs         `json:"logs"`
	SMTP         SMTP         `json:"smtp"`
	S3           S3           `json:"s3"`
	Backups      Backups      `json:"backups"`
	Batch        Batch        `json:"batch"`
	RateLimits   RateLimits   `json:"rateLimits"`
	TrustedProxy TrustedProxy `json:"trustedProxy"`
	// SuperuserIPs, when not empty, restricts superuser requests to these
	// IPs or CIDR ranges.
	SuperuserIPs []string `json:"superuserIPs"`
}

// Meta describes the application.
type Meta struct {
	AppName       string `json:"appName"`
	AppURL        string `json:"appURL"`
	SenderName    string `json:"senderName"`
	SenderAddress string `json:"senderAddress"`
	HideControls  bool   `json:"hideControls"`
}

// Logs configures the request log.
type Logs struct {
	MaxDays   int  `json:"maxDays"`
	MinLevel  int  `json:"minLevel"`
	LogIP     bool `json:"logIP"`
	LogAuthID bool `json:"logAuthId"`
}

// SMTP configures outgoing mail.
type SMTP struct {
	Enabled  bool   `json:"enabled"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	// AuthMethod is "PLAIN" (the default when empty) or "LOGIN".
	AuthMethod string `json:"authMethod"`
	// TLS forces an implicit TLS connection; otherwise STARTTLS is offered.
	TLS bool `json:"tls"`
	// LocalName is the EHLO/HELO name ("" = localhost).
	LocalName string `json:"localName"`
}

// S3 configures an S3-compatible bucket.
type S3 struct {
	Enabled        bool   `json:"enabled"`
	Bucket         string `json:"bucket"`
	Region         string `json:"region"`
	Endpoint       string `json:"endpoint"`
	AccessKey      string `json:"accessKey"`
	Secret         string `json:"secret,omitempty"`
	ForcePathStyle bool   `json:"forcePathStyle"`
}

// Backups configures automatic backups.
type Backups struct {
	// Cron schedules automatic backups ("" = off).
	Cron string `json:"cron"`
	// CronMaxKeep is how many automatic backups to keep.
	CronMaxKeep int `json:"cronMaxKeep"`
	// S3 stores backups in a bucket instead of the local disk when enabled.
	S3 S3 `json:"s3"`
}

// Batch configures POST /api/batch.
type Batch struct {
	Enabled     bool `json:"enabled"`
	MaxRequests int  `json:"maxRequests"`
	// Timeout is in seconds.
	Timeout int64 `json:"timeout"`
	// MaxBodySize is in bytes (0 = the transport's default).
	MaxBodySize int64 `json:"maxBodySize"`
}

// RateLimits configures request rate limiting.
type RateLimits struct {
	Enabled bool            `json:"enabled"`
	Rules   []RateLimitRule `json:"rules"`
	// ExcludedIPs are IPs or CIDR ranges that are never rate limited.
	ExcludedIPs []string `json:"excludedIPs"`
}

// Rate limit audiences.
const (
	AudienceAll   = ""
	AudienceGuest = "@guest"
	AudienceAuth  = "@auth"
)

// RateLimitRule allows MaxRequests per Duration seconds for requests matching Label.
//
// Label is a tag ("users:create", "*:auth"), an exact path ("/api/health"), a
// path prefix ending with "/" ("/api/"), or a method and path ("POST /api/").
type RateLimitRule struct {
	Label       string `json:"label"`
	Audience    string `json:"audience"`
	Duration    int64  `json:"duration"`
	MaxRequests int    `json:"maxRequests"`
}

// TrustedProxy says which headers carry the client IP.
type TrustedProxy struct {
	Headers       []string `json:"headers"`
	UseLeftmostIP bool     `json:"useLeftmostIP"`
}

// Defaults returns the settings of a new installation.
func Defaults() *Settings {
	return &Settings{
		Meta: Meta{
			AppName:       "Acme",
			AppURL:        "http://localhost:8090",
			SenderName:    "Support",
			SenderAddress: "support@example.com",
		},
		Logs: Logs{MaxDays: 5, LogIP: true},
		SMTP: SMTP{Host: "smtp.example.com", Port: 587},
		Backups: Backups{
			CronMaxKeep: 3,
		},
		Batch: Batch{MaxRequests: 50, Timeout: 3},
		RateLimits: RateLimits{
			Rules: []RateLimitRule{
				{Label: "*:auth", MaxRequests: 2, Duration: 3},
				{Label: "*:create", MaxRequests: 20, Duration: 5},
				{Label: "/api/batch", MaxRequests: 3, Duration: 1},
				{Label: "/api/", MaxRequests: 300, Duration: 10},
			},
			ExcludedIPs: []string{},
		},
		TrustedProxy: TrustedProxy{Headers: []string{}},
		SuperuserIPs: []string{},
	}
}

// Clone returns a deep copy of s.
func (s *Settings) Clone() *Settings {
	c := *s
	c.RateLimits.Rules = slices.Clone(s.RateLimits.Rules)
	c.RateLimits.ExcludedIPs = slices.Clone(s.RateLimits.ExcludedIPs)
	c.TrustedProxy.Headers = slices.Clone(s.TrustedProxy.Headers)
	c.SuperuserIPs = slices.Clone(s.SuperuserIPs)
	c.normalize()
	return &c
}

// Redacted returns a deep copy of s without its secrets.
func (s *Settings) Redacted() *Settings {
	c := s.Clone()
	c.SMTP.Password = ""
	c.S3.Secret = ""
	c.Backups.S3.Secret = ""
	return c
}

// normalize turns nil lists into empty ones so they encode as [].
func (s *Settings) normalize() {
	if s.RateLimits.Rules == nil {
		s.RateLimits.Rules = []RateLimitRule{}
	}
	if s.RateLimits.ExcludedIPs == nil {
		s.RateLimits.ExcludedIPs = []string{}
	}
	if s.TrustedProxy.Headers == nil {
		s.TrustedProxy.Headers = []string{}
	}
	if s.SuperuserIPs == nil {
		s.SuperuserIPs = []string{}
	}
}

// stored is Settings without the redacting MarshalJSON, used for persistence.
type stored Settings

// MarshalJSON encodes s without its secrets.
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal((*stored)(s.Redacted()))
}

// encodeStored encodes s with its secrets, for the store.
func encodeStored(s *Settings) ([]byte, error) {
	c := s.Clone()
	return json.Marshal((*stored)(c))
}

// decodeStored decodes a persisted value onto the defaults, so keys added
// after it was written get their default values.
func decodeStored(raw []byte) (*Settings, error) {
	doc, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	return merge(Defaults(), doc)
}
