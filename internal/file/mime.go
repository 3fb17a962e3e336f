package file

import (
	"bytes"
	"mime"
	"net/http"
	"path"
	"strings"
)

// sniffLen is how many leading bytes content type detection looks at.
const sniffLen = 512

// ContentType returns the media type of a file from its first bytes (up to
// 512) and its name. http.DetectContentType decides; the extension only
// refines a generic answer (text/plain, application/octet-stream, text/xml,
// application/zip) into a type the sniffer cannot see, such as SVG, JSON,
// CSS or DOCX, and never overrides a specific one, so a file cannot claim
// to be something else just by its name.
func ContentType(head []byte, name string) string {
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	sniffed := http.DetectContentType(head)
	essence, params, err := mime.ParseMediaType(sniffed)
	if err != nil {
		return "application/octet-stream"
	}
	ext := strings.ToLower(path.Ext(name))
	refined := refine(essence, ext, head)
	if refined == "" {
		return sniffed
	}
	if cs := params["charset"]; cs != "" && strings.HasPrefix(refined, "text/") {
		return refined + "; charset=" + cs
	}
	return refined
}

// refine returns the type that ext names when the sniffed essence is a
// generic one compatible with it, or "".
func refine(essence, ext string, head []byte) string {
	switch essence {
	case "text/plain":
		switch ext {
		case ".svg":
			if hasSVGRoot(head) {
				return "image/svg+xml"
			}
		case ".json":
			if t := bytes.TrimLeft(head, " \t\r\n\ufeff"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
				return "application/json"
			}
		case ".css":
			return "text/css"
		case ".js", ".mjs":
			return "text/javascript"
		case ".csv":
			return "text/csv"
		case ".tsv":
			return "text/tab-separated-values"
		case ".md", ".markdown":
			return "text/markdown"
		case ".ics":
			return "text/calendar"
		case ".vtt":
			return "text/vtt"
		}
	case "text/xml", "text/html":
		// An SVG may start with "<?xml" or a comment, which sniff as XML or HTML.
		if ext == ".svg" && hasSVGRoot(head) {
			return "image/svg+xml"
		}
	case "application/zip":
		switch ext {
		case ".docx":
			return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
		case ".xlsx":
			return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		case ".pptx":
			return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
		case ".odt":
			return "application/vnd.oasis.opendocument.text"
		case ".ods":
			return "application/vnd.oasis.opendocument.spreadsheet"
		case ".odp":
			return "application/vnd.oasis.opendocument.presentation"
		case ".epub":
			return "application/epub+zip"
		case ".jar":
			return "application/jar"
		}
	case "application/octet-stream":
		return sniffMore(head, ext)
	}
	return ""
}

// sniffMore recognises a few binary formats that http.DetectContentType does
// not, by signature and extension together.
func sniffMore(head []byte, ext string) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")): // OLE2
		switch ext {
		case ".doc":
			return "application/msword"
		case ".xls":
			return "application/vnd.ms-excel"
		case ".ppt":
			return "application/vnd.ms-powerpoint"
		}
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		switch ext {
		case ".heic":
			return "image/heic"
		case ".heif":
			return "image/heif"
		case ".avif":
			return "image/avif"
		case ".mov":
			return "video/quicktime"
		case ".m4a":
			return "audio/x-m4a"
		case ".3gp":
			return "video/3gpp"
		}
	case bytes.HasPrefix(head, []byte("fLaC")):
		return "audio/flac"
	case bytes.HasPrefix(head, []byte("7z\xBC\xAF\x27\x1C")):
		return "application/x-7z-compressed"
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return "application/x-tar"
	}
	return ""
}

func hasSVGRoot(head []byte) bool {
	return bytes.Contains(bytes.ToLower(head), []byte("<svg"))
}

// essence returns the lower-case type/subtype of a media type, without
// parameters, with common aliases folded into one spelling.
func essence(mediaType string) string {
	t, _, _ := strings.Cut(mediaType, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	switch t {
	case "image/jpg", "image/pjpeg":
		return "image/jpeg"
	case "application/xml":
		return "text/xml"
	case "audio/wav", "audio/x-wav", "audio/vnd.wave":
		return "audio/wave"
	case "audio/mp3", "audio/x-mpeg", "audio/x-mp3":
		return "audio/mpeg"
	case "application/x-pdf":
		return "application/pdf"
	case "application/x-javascript", "application/javascript":
		return "text/javascript"
	case "image/vnd.microsoft.icon":
		return "image/x-icon"
	case "application/x-zip-compressed":
		return "application/zip"
	}
	return t
}

// inline reports whether a type is passive enough to show in the browser
// (Content-Disposition: inline), as PocketBase does for images other than
// SVG, audio, video and PDF. Everything else is served as an attachment.
func inline(contentType string) bool {
	switch essence(contentType) {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/x-icon", "image/bmp",
		"video/webm", "video/mp4", "video/3gpp", "video/quicktime", "video/x-ms-wmv",
		"audio/basic", "audio/aiff", "audio/mpeg", "audio/midi", "audio/wave",
		"audio/x-m4a", "audio/aac",
		"application/pdf":
		return true
	}
	return false
}
