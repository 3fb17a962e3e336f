package mail

import (
	"html"
	"strings"
)

// Expand replaces every {NAME} placeholder of text that values names with
// its value; other braces are kept as written. Values are inserted in one
// pass, so a value that itself contains a placeholder is not expanded
// again. With escapeHTML the values are HTML-escaped (for bodies; subjects
// are plain text).
func Expand(text string, values map[string]string, escapeHTML bool) string {
	if !strings.Contains(text, "{") {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for {
		open := strings.IndexByte(text, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(text[open:], '}')
		if end < 0 {
			break
		}
		end += open
		name := text[open : end+1]
		if v, ok := values[name]; ok {
			b.WriteString(text[:open])
			if escapeHTML {
				v = html.EscapeString(v)
			}
			b.WriteString(v)
			text = text[end+1:]
			continue
		}
		// Not a placeholder: keep the "{" and look again after it (the next
		// placeholder may start inside, as in "{{APP_NAME}").
		b.WriteString(text[:open+1])
		text = text[open+1:]
	}
	b.WriteString(text)
	return b.String()
}
