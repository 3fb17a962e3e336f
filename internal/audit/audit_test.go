package audit

import (
	"encoding/json"
	"testing"
)

func TestRedact(t *testing.T) {
	in := `{"smtp":{"host":"mail","password":"p","username":"u"},"s3":{"secret":"s","accessKey":"k","bucket":"b"},
		"authToken":{"secret":"x","duration":60},"passwordAuth":{"enabled":true},"refresh_token":"r","apiKey":"",
		"list":[{"clientSecret":"c","clientId":"id"}],"emptySecret":null}`
	got, err := json.Marshal(RedactJSON([]byte(in)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"authToken":{"duration":60,"secret":"***"},"list":[{"clientId":"id","clientSecret":"***"}],` +
		`"passwordAuth":{"enabled":true},"refresh_token":"***","s3":{"accessKey":"***","bucket":"b","secret":"***"},` +
		`"smtp":{"host":"mail","password":"***","username":"u"}}`
	if string(got) != want {
		t.Errorf("Redact:\n got %s\nwant %s", got, want)
	}
	if RedactJSON([]byte("{")) != nil {
		t.Error("RedactJSON of broken JSON: want nil")
	}
}

func TestIsSecret(t *testing.T) {
	for key, want := range map[string]bool{
		"password": true, "oldPassword": true, "clientSecret": true, "refreshToken": true, "api_key": true,
		"privateKey": true, "email": false, "host": false, "passwordAuth": true, "duration": false,
	} {
		if got := IsSecret(key); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", key, got, want)
		}
	}
}
