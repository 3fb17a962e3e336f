package tracing

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The standard OTEL_EXPORTER_OTLP_* variables configure the exporter; the
// TRACES_ ones win over the general ones, --otlp-endpoint over both, and
// bad values are clear errors naming the variable.
func TestExportConfigFrom(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		endpoint string
		env      map[string]string
		url      string
		headers  map[string]string
		gzip     bool
		timeout  time.Duration
		err      string
	}{
		{name: "defaults", url: defaultTracesURL, timeout: defaultExportTimeout},
		{name: "flag wins", endpoint: "http://flag:4318/v1/traces", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"},
			url: "http://flag:4318/v1/traces", timeout: defaultExportTimeout},
		{name: "base endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4318"}, url: "https://c:4318/v1/traces", timeout: defaultExportTimeout},
		{name: "base endpoint with a path", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c/otlp/"}, url: "http://c/otlp/v1/traces", timeout: defaultExportTimeout},
		{name: "traces endpoint as is", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b/custom"},
			url: "http://b/custom", timeout: defaultExportTimeout},
		{name: "headers, compression, timeout", env: map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS":     "api-key=a%20b, x-team = core ,",
			"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
			"OTEL_EXPORTER_OTLP_TIMEOUT":     "2500",
		}, url: defaultTracesURL, headers: map[string]string{"api-key": "a b", "x-team": "core"}, gzip: true, timeout: 2500 * time.Millisecond},
		{name: "traces variables win", env: map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS": "a=1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=2",
			"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none",
			"OTEL_EXPORTER_OTLP_TIMEOUT": "1000", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "3000",
		}, url: defaultTracesURL, headers: map[string]string{"b": "2"}, timeout: 3 * time.Second},
		{name: "protocol http/protobuf", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, url: defaultTracesURL, timeout: defaultExportTimeout},
		{name: "protocol http/json", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, err: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json"},
		{name: "bad endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, err: "OTEL_EXPORTER_OTLP_ENDPOINT: want an http"},
		{name: "bad traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://c"}, err: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{name: "bad headers", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, err: "OTEL_EXPORTER_OTLP_HEADERS: want key=value"},
		{name: "bad header name", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a b=1"}, err: "OTEL_EXPORTER_OTLP_HEADERS"},
		{name: "bad header escape", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "a=%zz"}, err: "OTEL_EXPORTER_OTLP_TRACES_HEADERS: the value of a"},
		{name: "header line break", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=x%0D%0AEvil: 1"}, err: "line break"},
		{name: "bad compression", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, err: "OTEL_EXPORTER_OTLP_COMPRESSION: want gzip or none"},
		{name: "bad timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, err: "OTEL_EXPORTER_OTLP_TIMEOUT: want a positive number of milliseconds"},
		{name: "missing certificate", env: map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": filepath.Join(dir, "none.pem")}, err: "OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{name: "not a certificate", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": notPEM}, err: "holds no PEM certificate"},
		{name: "client key alone", env: map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_KEY": notPEM}, err: "go together"},
	} {
		c, err := exportConfigFrom(tc.endpoint, func(k string) string { return tc.env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one with %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.url != tc.url || !maps.Equal(c.headers, tc.headers) || c.gzip != tc.gzip || c.timeout != tc.timeout {
			t.Errorf("%s: got %+v", tc.name, c)
		}
	}
}

// FuzzParseHeaders: any input is parsed or refused without a panic, and
// what is accepted is safe to put in a request header.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{"a=b", "api-key=a%20b, x=y", "=x", "a", "a=%zz", "a=%0A", ",,,", "k=v=w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHeaders(s)
		if err != nil {
			return
		}
		for k, v := range h {
			if !validHeaderName(k) || strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("%q gave header %q: %q", s, k, v)
			}
		}
	})
}

// FuzzPartialSuccess: any collector answer is read without a panic.
func FuzzPartialSuccess(f *testing.F) {
	for _, b := range [][]byte{nil, {0x0a, 0x00}, {0x0a, 0x04, 0x08, 0x03, 0x12, 0x00}, {0xff}, []byte("{}")} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = partialSuccess(b)
	})
}
