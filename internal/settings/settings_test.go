package settings

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDefaultsJSONShape(t *testing.T) {
	t.Parallel()
	raw, err := json.Marshal(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"meta": map[string]any{"appName": "Acme", "appURL": "http://localhost:8090", "senderName": "Support",
			"senderAddress": "support@example.com", "hideControls": false},
		"logs": map[string]any{"maxDays": 5.0, "minLevel": 0.0, "logIP": true, "logAuthId": false},
		"smtp": map[string]any{"enabled": false, "host": "smtp.example.com", "port": 587.0, "username": "",
			"authMethod": "", "tls": false, "localName": ""},
		"s3": map[string]any{"enabled": false, "bucket": "", "region": "", "endpoint": "", "accessKey": "",
			"forcePathStyle": false},
		"backups": map[string]any{"cron": "", "cronMaxKeep": 3.0, "s3": map[string]any{"enabled": false, "bucket": "",
			"region": "", "endpoint": "", "accessKey": "", "forcePathStyle": false}},
		"batch": map[string]any{"enabled": false, "maxRequests": 50.0, "timeout": 3.0, "maxBodySize": 0.0},
		"rateLimits": map[string]any{"enabled": false, "excludedIPs": []any{}, "rules": []any{
			map[string]any{"label": "*:auth", "audience": "", "duration": 3.0, "maxRequests": 2.0},
			map[string]any{"label": "*:create", "audience": "", "duration": 5.0, "maxRequests": 20.0},
			map[string]any{"label": "/api/batch", "audience": "", "duration": 1.0, "maxRequests": 3.0},
			map[string]any{"label": "/api/", "audience": "", "duration": 10.0, "maxRequests": 300.0},
		}},
		"trustedProxy": map[string]any{"headers": []any{}, "useLeftmostIP": false},
		"superuserIPs": []any{},
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("got  %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestGetReturnsACopy(t *testing.T) {
	t.Parallel()
	s := Defaults()
	a := s.Clone()
	a.Meta.AppName = "changed"
	a.RateLimits.Rules[0].Label = "changed"
	a.SuperuserIPs = append(a.SuperuserIPs, "1.2.3.4")
	b := s.Clone()
	if b.Meta.AppName != "Acme" || b.RateLimits.Rules[0].Label != "*:auth" || len(b.SuperuserIPs) != 0 {
		t.Fatalf("mutating a copy changed the service: %+v", b)
	}
}

func TestRedactedAndMarshalHideSecrets(t *testing.T) {
	t.Parallel()
	s := Defaults()
	s.SMTP.Password, s.S3.Secret, s.Backups.S3.Secret = "p1", "p2", "p3"
	r := s.Redacted()
	if r.SMTP.Password != "" || r.S3.Secret != "" || r.Backups.S3.Secret != "" {
		t.Fatalf("Redacted kept a secret: %+v", r)
	}
	if s.SMTP.Password != "p1" {
		t.Fatal("Redacted changed the original")
	}
	for _, v := range []any{s, *s} {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"p1", "p2", "p3"} {
			if strings.Contains(string(raw), secret) {
				t.Fatalf("json.Marshal(%T) leaks %s: %s", v, secret, raw)
			}
		}
	}
	stored, err := encodeStored(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeStored(stored)
	if err != nil {
		t.Fatal(err)
	}
	if back.SMTP.Password != "p1" || back.S3.Secret != "p2" || back.Backups.S3.Secret != "p3" {
		t.Fatalf("stored round trip lost secrets: %+v", back)
	}
}
