package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
)

// DefaultThumb is the thumbnail size every file field allows, besides the
// sizes listed in its Thumbs option.
const DefaultThumb = "100x100"

// Thumbnail limits. Decoding is bounded by maxSourcePixels (about 160 MB of
// RGBA at worst) and output by maxThumbPixels; a larger image is served
// unresized. thumbWait bounds how long a request waits for a generation slot.
const (
	maxSourcePixels = 40_000_000
	maxThumbPixels  = 16_000_000
	exifScanLen     = 128 << 10
	thumbWait       = 60 * time.Second
)

// thumbSpec is a parsed thumb size: WxH with an optional mode, 't' (crop
// from the top), 'b' (crop from the bottom), 'f' (fit inside, no crop) or 0
// (crop around the center). W or H may be 0 to keep the aspect ratio.
type thumbSpec struct {
	w, h int
	mode byte
}

// ParseThumb parses a thumb size in PocketBase's format: WxH, WxHt, WxHb,
// WxHf, 0xH or Wx0 (not both zero). Field definitions can use it to check
// their Thumbs option.
func ParseThumb(size string) (w, h int, mode byte, ok bool) {
	spec, ok := parseThumb(size)
	return spec.w, spec.h, spec.mode, ok
}

func parseThumb(size string) (thumbSpec, bool) {
	var spec thumbSpec
	if n := len(size); n > 0 {
		switch size[n-1] {
		case 't', 'b', 'f':
			spec.mode = size[n-1]
			size = size[:n-1]
		}
	}
	ws, hs, ok := cutDigits(size)
	if !ok {
		return thumbSpec{}, false
	}
	var err1, err2 error
	spec.w, err1 = strconv.Atoi(ws)
	spec.h, err2 = strconv.Atoi(hs)
	if err1 != nil || err2 != nil || spec.w == 0 && spec.h == 0 || spec.w > 1<<16 || spec.h > 1<<16 {
		return thumbSpec{}, false
	}
	return spec, true
}

// cutDigits splits "123x456" into its two non-empty runs of ASCII digits.
func cutDigits(s string) (string, string, bool) {
	x := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'x' && x < 0:
			x = i
		case c < '0' || c > '9':
			return "", "", false
		}
	}
	if x <= 0 || x == len(s)-1 || x > 9 || len(s)-x-1 > 9 {
		return "", "", false
	}
	return s[:x], s[x+1:], true
}

// ServeThumb serves a thumbnail of the file when size is DefaultThumb or one
// of field.Thumbs and the file is a PNG, JPEG or GIF image; otherwise (empty,
// unlisted or malformed size, another format, an image too large or broken)
// it serves the original, as PocketBase does. Thumbnails are made on first
// request, stored at <collectionID>/<recordID>/thumbs_<name>/<size>_<name>
// and served from there afterwards; EXIF orientation of JPEGs is applied.
// Responses, errors and headers are as for Serve.
func (s *Service) ServeThumb(w http.ResponseWriter, r *http.Request, collectionID, recordID, name string, field *schema.Field, size string, download bool) error {
	spec, ok := parseThumb(size)
	if !ok || size != DefaultThumb && (field == nil || !slices.Contains(field.Thumbs, size)) {
		return s.Serve(w, r, collectionID, recordID, name, download)
	}
	orig, err := s.open(r, collectionID, recordID, name)
	if err != nil {
		return err
	}
	defer orig.Close()
	head, err := readHead(orig)
	if err != nil {
		return fmt.Errorf("serving %s: %w", name, err)
	}
	ct := essence(ContentType(head, name))
	if ct != "image/png" && ct != "image/jpeg" && ct != "image/gif" {
		return serveObject(w, r, orig, name, download)
	}

	thumbName := size + "_" + name
	thumbKey := thumbsPrefix(collectionID, recordID, name) + "/" + thumbName
	origKey := collectionID + "/" + recordID + "/" + name
	if t, err := s.store.Open(r.Context(), thumbKey); err == nil {
		defer t.Close()
		return serveObject(w, r, t, thumbName, download)
	}
	if err := s.thumb(r.Context(), origKey, thumbKey, ct, spec); err == nil {
		if t, err := s.store.Open(r.Context(), thumbKey); err == nil {
			defer t.Close()
			return serveObject(w, r, t, thumbName, download)
		}
	}
	// PocketBase serves the original when a thumbnail cannot be made.
	return serveObject(w, r, orig, name, download)
}

// thumbCall is one thumbnail generation that concurrent requests share.
type thumbCall struct {
	done chan struct{}
	err  error
}

// thumb makes and stores the thumbnail at thumbKey once, however many
// requests ask for it at the same time. The work is detached from the first
// request's cancellation so that the others still get it.
func (s *Service) thumb(ctx context.Context, origKey, thumbKey, ct string, spec thumbSpec) error {
	s.mu.Lock()
	if c, ok := s.thumbs[thumbKey]; ok {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c := &thumbCall{done: make(chan struct{})}
	s.thumbs[thumbKey] = c
	s.mu.Unlock()

	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), thumbWait)
	c.err = s.makeThumb(work, origKey, thumbKey, ct, spec)
	cancel()

	s.mu.Lock()
	delete(s.thumbs, thumbKey)
	s.mu.Unlock()
	close(c.done)
	return c.err
}

func (s *Service) makeThumb(ctx context.Context, origKey, thumbKey, ct string, spec thumbSpec) error {
	select {
	case s.thumbSem <- struct{}{}:
		defer func() { <-s.thumbSem }()
	case <-ctx.Done():
		return ctx.Err()
	}
	obj, err := s.store.Open(ctx, origKey)
	if err != nil {
		return err
	}
	defer obj.Close()
	data, err := thumbnail(obj, ct, spec)
	if err != nil {
		return fmt.Errorf("making thumb %s: %w", thumbKey, err)
	}
	return s.store.Put(ctx, thumbKey, bytes.NewReader(data))
}

// thumbnail decodes the image in r (of type ct), resizes it to spec and
// encodes it in the same format.
func thumbnail(r io.ReadSeeker, ct string, spec thumbSpec) ([]byte, error) {
	orientation := 1
	if ct == "image/jpeg" {
		orientation = exifOrientation(io.LimitReader(r, exifScanLen))
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	var decodeConfig func(io.Reader) (image.Config, error)
	var decode func(io.Reader) (image.Image, error)
	switch ct {
	case "image/png":
		decodeConfig, decode = png.DecodeConfig, png.Decode
	case "image/jpeg":
		decodeConfig, decode = jpeg.DecodeConfig, jpeg.Decode
	case "image/gif":
		// Only the first frame, as PocketBase.
		decodeConfig, decode = gif.DecodeConfig, gif.Decode
	default:
		return nil, fmt.Errorf("unsupported image type %s", ct)
	}
	cfg, err := decodeConfig(r)
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxSourcePixels {
		return nil, fmt.Errorf("image of %dx%d pixels is too large to thumbnail", cfg.Width, cfg.Height)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	src, err := decode(r)
	if err != nil {
		return nil, err
	}
	out, err := fitThumb(src, orientation, spec)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	switch ct {
	case "image/png":
		err = png.Encode(&buf, out)
	case "image/jpeg":
		err = jpeg.Encode(&buf, out, &jpeg.Options{Quality: 90})
	case "image/gif":
		err = gif.Encode(&buf, out, nil)
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fitThumb computes the crop and output size of spec for src as displayed
// (after orientation), then resamples and orients it.
func fitThumb(src image.Image, orientation int, spec thumbSpec) (*image.RGBA, error) {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	swap := orientation >= 5 && orientation <= 8
	ow, oh := sw, sh // size as displayed
	if swap {
		ow, oh = sh, sw
	}
	crop := image.Rect(0, 0, ow, oh) // in displayed coordinates
	tw, th := spec.w, spec.h
	switch {
	case spec.w == 0:
		tw = max(1, int((int64(ow)*int64(th)+int64(oh)/2)/int64(oh)))
	case spec.h == 0:
		th = max(1, int((int64(oh)*int64(tw)+int64(ow)/2)/int64(ow)))
	case spec.mode == 'f':
		if ow <= tw && oh <= th {
			tw, th = ow, oh // fit never enlarges
		} else if int64(ow)*int64(th) > int64(oh)*int64(tw) {
			th = max(1, int((int64(oh)*int64(tw)+int64(ow)/2)/int64(ow)))
		} else {
			tw = max(1, int((int64(ow)*int64(th)+int64(oh)/2)/int64(oh)))
		}
	default: // fill the box, cropping the overflow
		if int64(ow)*int64(th) > int64(oh)*int64(tw) {
			cw := max(1, int((int64(oh)*int64(tw)+int64(th)/2)/int64(th)))
			x0 := (ow - cw) / 2
			crop = image.Rect(x0, 0, x0+cw, oh)
		} else {
			ch := max(1, int((int64(ow)*int64(th)+int64(tw)/2)/int64(tw)))
			y0 := (oh - ch) / 2
			switch spec.mode {
			case 't':
				y0 = 0
			case 'b':
				y0 = oh - ch
			}
			crop = image.Rect(0, y0, ow, y0+ch)
		}
	}
	if int64(tw)*int64(th) > maxThumbPixels {
		return nil, errors.New("thumb too large")
	}
	srcCrop := unorientRect(crop, orientation, sw, sh).Add(b.Min)
	rw, rh := tw, th
	if swap {
		rw, rh = th, tw
	}
	return orient(resample(src, srcCrop, rw, rh), orientation), nil
}
