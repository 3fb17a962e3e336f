package tracing

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// exportConfig is where and how the exporter posts spans.
type exportConfig struct {
	url     string
	headers map[string]string
	gzip    bool
	timeout time.Duration
	tls     *tls.Config // nil: the system's roots, no client certificate
}

// defaultExportTimeout bounds one export, retries included, unless
// OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT says otherwise.
const defaultExportTimeout = 10 * time.Second

// defaultTracesURL is the OTLP/HTTP default endpoint.
const defaultTracesURL = "http://localhost:4318/v1/traces"

// exportConfigFrom reads the standard OTEL_EXPORTER_OTLP_* variables through
// getenv; endpoint, when set (--otlp-endpoint, already a traces URL), wins
// over the endpoint variables. For each setting the TRACES_ variable wins
// over the general one.
func exportConfigFrom(endpoint string, getenv func(string) string) (exportConfig, error) {
	// signal returns the traces-specific variable's value, else the
	// general one's, and the name of the variable it came from.
	signal := func(name string) (string, string) {
		if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_" + name)); v != "" {
			return v, "OTEL_EXPORTER_OTLP_TRACES_" + name
		}
		return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_" + name)), "OTEL_EXPORTER_OTLP_" + name
	}
	c := exportConfig{url: endpoint, timeout: defaultExportTimeout}
	if c.url == "" {
		var err error
		if c.url, err = tracesURLFromEnv(getenv); err != nil {
			return c, err
		}
	}
	if v, name := signal("PROTOCOL"); v == "http/json" {
		return c, fmt.Errorf("%s=%s: Basalt exports traces as http/protobuf only", name, v)
	}
	if v, name := signal("HEADERS"); v != "" {
		h, err := parseHeaders(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
		c.headers = h
	}
	switch v, name := signal("COMPRESSION"); v {
	case "", "none":
	case "gzip":
		c.gzip = true
	default:
		return c, fmt.Errorf("%s: want gzip or none, got %q", name, v)
	}
	if v, name := signal("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return c, fmt.Errorf("%s: want a positive number of milliseconds, got %q", name, v)
		}
		c.timeout = time.Duration(ms) * time.Millisecond
	}
	var err error
	if c.tls, err = tlsFromEnv(signal); err != nil {
		return c, err
	}
	return c, nil
}

// tracesURLFromEnv is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
// OTEL_EXPORTER_OTLP_ENDPOINT with v1/traces appended to its path, else the
// default.
func tracesURLFromEnv(getenv func(string) string) (string, error) {
	if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); v != "" {
		u, err := httpURL(v)
		if err != nil {
			return "", fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: %w", err)
		}
		return u.String(), nil
	}
	if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")); v != "" {
		u, err := httpURL(v)
		if err != nil {
			return "", fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
		}
		u.Path = path.Join("/", u.Path, "v1/traces")
		return u.String(), nil
	}
	return defaultTracesURL, nil
}

func httpURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("want an http:// or https:// URL such as http://localhost:4318")
	}
	return u, nil
}

// parseHeaders reads "key=value,key2=value2"; values are percent-decoded
// (the OTLP exporter specification's format).
func parseHeaders(s string) (map[string]string, error) {
	h := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || !validHeaderName(k) {
			return nil, errors.New(`want key=value pairs separated by commas, such as "api-key=secret"`)
		}
		dv, err := url.PathUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("the value of %s is not percent-encoded correctly", k)
		}
		dv = strings.TrimSpace(dv)
		if strings.ContainsAny(dv, "\r\n\x00") {
			return nil, fmt.Errorf("the value of %s holds a line break", k)
		}
		h[k] = dv
	}
	return h, nil
}

// validHeaderName reports whether k is an HTTP token (RFC 9110).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// tlsFromEnv reads the CERTIFICATE (trusted roots), CLIENT_CERTIFICATE and
// CLIENT_KEY variables (PEM files); nil when none is set.
func tlsFromEnv(signal func(string) (string, string)) (*tls.Config, error) {
	ca, caName := signal("CERTIFICATE")
	cert, certName := signal("CLIENT_CERTIFICATE")
	key, keyName := signal("CLIENT_KEY")
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", caName, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", caName, ca)
		}
		c.RootCAs = pool
	}
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("%s and %s go together", certName, keyName)
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("%s, %s: %w", certName, keyName, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}
