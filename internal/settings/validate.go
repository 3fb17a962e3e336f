package settings

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// maxSeconds bounds durations given in seconds so that converting them to a
// time.Duration cannot overflow (about 31 years).
const maxSeconds = 1_000_000_000

// rateLimitLabel is the label format: "METHOD /path", "/path", "tag:action",
// "*:action" or "tag".
var rateLimitLabel = regexp.MustCompile(`^(?:\w+ /[\w/-]*|/[\w/-]*|(?:\w+|\*):\w+|\w+)$`)

// Validate checks s against the settings rules. It returns an apperr Invalid
// error whose Data nests each problem where the key sits in the JSON shape,
// e.g. {"batch":{"maxRequests":{"code":…,"message":…}}}, or nil.
func (s *Settings) Validate() error {
	p := problems{}
	p.meta(s.Meta)
	if s.Logs.MaxDays < 0 {
		p.min("logs.maxDays", 0)
	}
	p.smtp(s.SMTP)
	p.s3("s3", s.S3)
	p.backups(s.Backups)
	p.batch(s.Batch)
	p.rateLimits(s.RateLimits)
	p.ipList("superuserIPs", s.SuperuserIPs)
	if len(p) == 0 {
		return nil
	}
	return &apperr.Error{Code: apperr.Invalid, Message: msgSaveFailed, Data: p}
}

// problems collects per-key problems in the nested shape of the settings.
type problems map[string]any

// add records a problem at a dotted path unless one is already there.
func (p problems) add(path, code, message string) {
	setPath(p, strings.Split(path, "."), apperr.Field{Code: code, Message: message})
}

func (p problems) required(path string) {
	p.add(path, "validation_required", "Cannot be blank.")
}

func (p problems) min(path string, threshold int64) {
	p.add(path, "validation_min_greater_equal_than_required", fmt.Sprintf("Must be no less than %d.", threshold))
}

func (p problems) max(path string, threshold int64) {
	p.add(path, "validation_max_less_equal_than_required", fmt.Sprintf("Must be no greater than %d.", threshold))
}

// number checks lo <= v <= hi, and v != 0 when required. Like PocketBase,
// bounds do not apply to an unset (zero) value.
func (p problems) number(path string, v, lo, hi int64, required bool) {
	switch {
	case required && v == 0:
		p.required(path)
	case v != 0 && v < lo:
		p.min(path, lo)
	case v > hi:
		p.max(path, hi)
	}
}

// text checks a required string of 1 to 255 characters.
func (p problems) text(path, v string) {
	switch n := utf8.RuneCountInString(v); {
	case strings.TrimSpace(v) == "":
		p.required(path)
	case n > 255:
		p.add(path, "validation_length_out_of_range", "The length must be between 1 and 255.")
	}
}

func (p problems) meta(m Meta) {
	p.text("meta.appName", m.AppName)
	switch {
	case m.AppURL == "":
		p.required("meta.appURL")
	case !isURL(m.AppURL):
		p.add("meta.appURL", "validation_is_url", "Must be a valid URL.")
	}
	p.text("meta.senderName", m.SenderName)
	switch {
	case m.SenderAddress == "":
		p.required("meta.senderAddress")
	case !isEmail(m.SenderAddress):
		p.add("meta.senderAddress", "validation_is_email", "Must be a valid email address.")
	}
}

func (p problems) smtp(c SMTP) {
	switch {
	case c.Enabled && c.Host == "":
		p.required("smtp.host")
	case c.Host != "" && !isHost(c.Host):
		p.add("smtp.host", "validation_is_host", "Must be a valid IP address or DNS name.")
	}
	p.number("smtp.port", int64(c.Port), 0, 65535, c.Enabled)
	switch c.AuthMethod {
	case "", "PLAIN", "LOGIN":
	default:
		p.add("smtp.authMethod", "validation_in_invalid", "Must be a valid value.")
	}
	if c.LocalName != "" && !isHost(c.LocalName) {
		p.add("smtp.localName", "validation_is_host", "Must be a valid IP address or DNS name.")
	}
}

func (p problems) s3(prefix string, c S3) {
	if c.Endpoint != "" && !isURL(c.Endpoint) {
		p.add(prefix+".endpoint", "validation_is_url", "Must be a valid URL.")
	}
	if !c.Enabled {
		return
	}
	for key, v := range map[string]string{
		"endpoint": c.Endpoint, "bucket": c.Bucket, "region": c.Region,
		"accessKey": c.AccessKey, "secret": c.Secret,
	} {
		if v == "" {
			p.required(prefix + "." + key)
		}
	}
}

func (p problems) backups(b Backups) {
	p.s3("backups.s3", b.S3)
	if b.Cron != "" {
		if err := checkCron(b.Cron); err != nil {
			p.add("backups.cron", "validation_invalid_cron", err.Error())
		}
	}
	p.number("backups.cronMaxKeep", int64(b.CronMaxKeep), 1, 1<<31-1, b.Cron != "")
}

func (p problems) batch(b Batch) {
	p.number("batch.maxRequests", int64(b.MaxRequests), 0, 1<<31-1, b.Enabled)
	p.number("batch.timeout", b.Timeout, 0, maxSeconds, b.Enabled)
	if b.MaxBodySize < 0 {
		p.min("batch.maxBodySize", 0)
	}
}

func (p problems) rateLimits(r RateLimits) {
	if r.Enabled && len(r.Rules) == 0 {
		p.required("rateLimits.rules")
	}
	for i, rule := range r.Rules {
		at := "rateLimits.rules." + strconv.Itoa(i) + "."
		switch {
		case rule.Label == "":
			p.required(at + "label")
		case !rateLimitLabel.MatchString(rule.Label):
			p.add(at+"label", "validation_match_invalid", "Must be in a valid format.")
		}
		p.number(at+"maxRequests", int64(rule.MaxRequests), 1, 1<<31-1, true)
		p.number(at+"duration", rule.Duration, 1, maxSeconds, true)
		switch rule.Audience {
		case AudienceAll, AudienceGuest, AudienceAuth:
		default:
			p.add(at+"audience", "validation_in_invalid", "Must be a valid value.")
		}
		// A rule conflicts with an earlier one of the same label when their
		// audiences are equal or either covers everyone.
		for _, prev := range r.Rules[:i] {
			if prev.Label == rule.Label && (prev.Audience == rule.Audience || prev.Audience == AudienceAll || rule.Audience == AudienceAll) {
				p.add(at+"label", "validation_conflicting_rate_limit_rule",
					fmt.Sprintf("Rate limit rule configuration with label %s already exists or conflicts with another rule.", rule.Label))
				break
			}
		}
	}
	p.ipList("rateLimits.excludedIPs", r.ExcludedIPs)
}

// ipList checks that every entry is an IP address or a CIDR range.
func (p problems) ipList(path string, list []string) {
	for i, v := range list {
		if !isIPOrPrefix(v) {
			p.add(path+"."+strconv.Itoa(i), "validation_invalid_ip", "Must be a valid IP address or CIDR range.")
		}
	}
}

// setPath stores leaf at path inside nested maps, keeping an existing problem.
func setPath(m map[string]any, path []string, leaf apperr.Field) {
	for _, key := range path[:len(path)-1] {
		next, ok := m[key].(map[string]any)
		if !ok {
			if _, taken := m[key]; taken {
				return // a problem is already reported on the parent
			}
			next = map[string]any{}
			m[key] = next
		}
		m = next
	}
	last := path[len(path)-1]
	if _, taken := m[last]; !taken {
		m[last] = leaf
	}
}

func isIPOrPrefix(v string) bool {
	if _, err := netip.ParseAddr(v); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(v)
	return err == nil
}

// isURL accepts absolute URLs with a valid host; a missing scheme means http.
func isURL(v string) bool {
	if v == "" || strings.ContainsAny(v, " \t\r\n") || !utf8.ValidString(v) {
		return false
	}
	s := v
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return false
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n > 65535 {
			return false
		}
	}
	return isHost(u.Hostname())
}

// isHost accepts an IP address or a DNS name.
func isHost(v string) bool {
	if _, err := netip.ParseAddr(v); err == nil {
		return true
	}
	name := strings.TrimSuffix(v, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			ok := c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !ok {
				return false
			}
		}
	}
	return true
}

// isEmail accepts a bare address (no display name, no angle brackets).
func isEmail(v string) bool {
	addr, err := mail.ParseAddress(v)
	return err == nil && addr.Name == "" && addr.Address == v
}
