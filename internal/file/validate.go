package file

import (
	"fmt"
	"io"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// MaxSize returns the largest upload field accepts, in bytes.
func MaxSize(field *schema.Field) int64 {
	if field.MaxSize <= 0 {
		return schema.DefaultFileSize
	}
	return field.MaxSize
}

// MaxSelect returns how many files field holds at most (1 for a single-file
// field).
func MaxSelect(field *schema.Field) int {
	return max(field.MaxSelect, 1)
}

// MaxBodySize returns the largest request body field's uploads can need,
// MaxSize times MaxSelect, for sizing a request body limit.
func MaxBodySize(field *schema.Field) int64 {
	return MaxSize(field) * int64(MaxSelect(field))
}

// Validate checks new uploads for field: each at most MaxSize bytes and, when
// field.MimeTypes is set, of one of those types by content (see ContentType).
// It returns nil, or an invalid *apperr.Error whose Data holds one entry,
// field.Name → apperr.Field, with PocketBase's code and message for the first
// problem found, ready to merge into the record's field errors.
func Validate(field *schema.Field, uploads []Upload) error {
	maxSize := MaxSize(field)
	for _, u := range uploads {
		if u.Size > maxSize {
			return fieldErr(field, "validation_file_size_limit",
				fmt.Sprintf("Failed to upload %q - the maximum allowed file size is %d bytes.", u.Name, maxSize))
		}
		if len(field.MimeTypes) == 0 {
			continue
		}
		ct, err := sniff(u)
		if err != nil {
			return fieldErr(field, "validation_invalid_mime_type",
				fmt.Sprintf("Failed to upload %q due to unsupported file type.", u.Name))
		}
		if !allowed(ct, field.MimeTypes) {
			return fieldErr(field, "validation_invalid_mime_type",
				fmt.Sprintf("%q mime type must be one of: %s.", u.Name, strings.Join(field.MimeTypes, ", ")))
		}
	}
	return nil
}

// ValidateCount checks that a record keeps at most MaxSelect(field) files
// in field once uploads are added and deletions applied; same error shape as
// Validate.
func ValidateCount(field *schema.Field, total int) error {
	if m := MaxSelect(field); total > m {
		return fieldErr(field, "validation_too_many_files", fmt.Sprintf("The maximum allowed files is %d", m))
	}
	return nil
}

func fieldErr(field *schema.Field, code, message string) error {
	return apperr.Fields("Failed to upload files.", map[string]apperr.Field{
		field.Name: {Code: code, Message: message},
	})
}

// sniff returns the content type of an upload from its first bytes and name.
func sniff(u Upload) (string, error) {
	if u.Open == nil {
		return "", fmt.Errorf("upload %q has no content", u.Name)
	}
	r, err := u.Open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", err
	}
	return ContentType(head[:n], u.Name), nil
}

// allowed reports whether ct is one of the listed types, ignoring case,
// parameters and common aliases (image/jpg is image/jpeg). As in PocketBase,
// there are no wildcards: "image/*" matches nothing.
func allowed(ct string, list []string) bool {
	got := essence(ct)
	for _, t := range list {
		if essence(t) == got {
			return true
		}
	}
	return false
}
