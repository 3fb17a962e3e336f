package file

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

func TestParseThumb(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want thumbSpec
		ok   bool
	}{
		{"100x100", thumbSpec{100, 100, 0}, true},
		{"100x50t", thumbSpec{100, 50, 't'}, true},
		{"100x50b", thumbSpec{100, 50, 'b'}, true},
		{"100x50f", thumbSpec{100, 50, 'f'}, true},
		{"0x50", thumbSpec{0, 50, 0}, true},
		{"50x0", thumbSpec{50, 0, 0}, true},
		{"007x1", thumbSpec{7, 1, 0}, true},
		{"0x0", thumbSpec{}, false},
		{"0x0f", thumbSpec{}, false},
		{"", thumbSpec{}, false},
		{"100", thumbSpec{}, false},
		{"x100", thumbSpec{}, false},
		{"100x", thumbSpec{}, false},
		{"100x100z", thumbSpec{}, false},
		{"100x100tt", thumbSpec{}, false},
		{"-1x5", thumbSpec{}, false},
		{"+1x5", thumbSpec{}, false},
		{"1x2x3", thumbSpec{}, false},
		{"1X2", thumbSpec{}, false},
		{" 1x2", thumbSpec{}, false},
		{"١x1", thumbSpec{}, false},
		{"99999999999x1", thumbSpec{}, false},
		{"70000x1", thumbSpec{}, false},
		{"f", thumbSpec{}, false},
	}
	for _, tt := range tests {
		got, ok := parseThumb(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseThumb(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if w, h, m, ok := ParseThumb("3x4b"); !ok || w != 3 || h != 4 || m != 'b' {
		t.Errorf("ParseThumb(3x4b) = %d %d %c %v", w, h, m, ok)
	}
}

var (
	red  = color.RGBA{255, 0, 0, 255}
	blue = color.RGBA{0, 0, 255, 255}
)

// halves returns a w×h image whose first half (left, or top when vertical)
// is red and second half blue.
func halves(w, h int, vertical bool) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := red
			if !vertical && x >= w/2 || vertical && y >= h/2 {
				c = blue
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return x-y < 8 || y-x < 8 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}

func TestFitThumb(t *testing.T) {
	t.Parallel()
	wide := halves(400, 200, false) // red | blue
	tall := halves(200, 400, true)  // red over blue
	tests := []struct {
		name        string
		src         *image.RGBA
		size        string
		w, h        int
		left, right color.RGBA // pixels at the middle of the left and right edges
		top, bottom color.RGBA // pixels at the middle of the top and bottom edges
	}{
		{"center crop wide", wide, "100x100", 100, 100, red, blue, color.RGBA{}, color.RGBA{}},
		{"width only", wide, "100x0", 100, 50, red, blue, color.RGBA{}, color.RGBA{}},
		{"height only", wide, "0x100", 200, 100, red, blue, color.RGBA{}, color.RGBA{}},
		{"fit", wide, "100x100f", 100, 50, red, blue, color.RGBA{}, color.RGBA{}},
		{"fit never enlarges", wide, "1000x1000f", 400, 200, red, blue, color.RGBA{}, color.RGBA{}},
		{"fill enlarges", wide, "800x800", 800, 800, red, blue, color.RGBA{}, color.RGBA{}},
		{"center crop tall", tall, "100x100", 100, 100, color.RGBA{}, color.RGBA{}, red, blue},
		{"crop from top", tall, "100x100t", 100, 100, color.RGBA{}, color.RGBA{}, red, red},
		{"crop from bottom", tall, "100x100b", 100, 100, color.RGBA{}, color.RGBA{}, blue, blue},
		{"narrow box on wide", wide, "10x100", 10, 100, red, blue, color.RGBA{}, color.RGBA{}},
		{"extreme ratio", halves(1000, 1, false), "0x10", 10000, 10, red, blue, color.RGBA{}, color.RGBA{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec, ok := parseThumb(tt.size)
			if !ok {
				t.Fatalf("bad size %q", tt.size)
			}
			out, err := fitThumb(tt.src, 1, spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Bounds().Size(); got != image.Pt(tt.w, tt.h) {
				t.Fatalf("size = %v, want %dx%d", got, tt.w, tt.h)
			}
			check := func(where string, x, y int, want color.RGBA) {
				if want == (color.RGBA{}) {
					return
				}
				if got := out.RGBAAt(x, y); !near(got, want) {
					t.Errorf("%s pixel (%d,%d) = %v, want %v", where, x, y, got, want)
				}
			}
			check("left", 0, tt.h/2, tt.left)
			check("right", tt.w-1, tt.h/2, tt.right)
			check("top", tt.w/2, 0, tt.top)
			check("bottom", tt.w/2, tt.h-1, tt.bottom)
		})
	}
	if _, err := fitThumb(halves(10000, 1, false), 1, thumbSpec{h: 10000}); err == nil {
		t.Errorf("fitThumb made a 100-megapixel thumb")
	}
}

func TestResampleAverages(t *testing.T) {
	t.Parallel()
	// A 1-pixel checkerboard shrunk 4× must come out flat grey, not
	// aliased to black or white.
	src := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			if (x+y)%2 == 0 {
				src.Pix[y*64+x] = 255
			}
		}
	}
	out := resample(src, src.Bounds(), 16, 16)
	for i := 0; i < len(out.Pix); i += 4 {
		if v := out.Pix[i]; v < 112 || v > 144 {
			t.Fatalf("pixel %d = %d, want about 128", i/4, v)
		}
	}
	// Semi-transparent input stays premultiplied and keeps its alpha.
	half := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < len(half.Pix); i += 4 {
		copy(half.Pix[i:], []byte{255, 0, 0, 128})
	}
	got := resample(half, half.Bounds(), 3, 3).RGBAAt(1, 1)
	if got.A < 126 || got.A > 130 || got.R > got.A || got.R < 124 {
		t.Errorf("semi-transparent red = %v, want about {128 0 0 128}", got)
	}
}

// numbered returns a w×h image whose pixels are all different.
func numbered(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		img.Pix[i*4], img.Pix[i*4+1], img.Pix[i*4+2], img.Pix[i*4+3] = uint8(i), uint8(i>>8), 7, 255
	}
	return img
}

func TestOrient(t *testing.T) {
	t.Parallel()
	src := numbered(3, 2)
	w := 3
	at := func(img *image.RGBA, x, y int) color.RGBA { return img.RGBAAt(x, y) }
	tl, tr := at(src, 0, 0), at(src, w-1, 0)
	tests := []struct {
		o      int
		dw, dh int
		tl, tr image.Point // where the source top-left and top-right corners go
	}{
		{1, 3, 2, image.Pt(0, 0), image.Pt(2, 0)},
		{2, 3, 2, image.Pt(2, 0), image.Pt(0, 0)}, // mirror
		{3, 3, 2, image.Pt(2, 1), image.Pt(0, 1)}, // 180°
		{4, 3, 2, image.Pt(0, 1), image.Pt(2, 1)}, // flip
		{5, 2, 3, image.Pt(0, 0), image.Pt(0, 2)}, // transpose
		{6, 2, 3, image.Pt(1, 0), image.Pt(1, 2)}, // 90° clockwise
		{7, 2, 3, image.Pt(1, 2), image.Pt(1, 0)}, // transverse
		{8, 2, 3, image.Pt(0, 2), image.Pt(0, 0)}, // 90° counter-clockwise
		{9, 3, 2, image.Pt(0, 0), image.Pt(2, 0)}, // unknown: unchanged
	}
	for _, tt := range tests {
		out := orient(src, tt.o)
		if got := out.Bounds().Size(); got != image.Pt(tt.dw, tt.dh) {
			t.Errorf("orient %d: size %v, want %dx%d", tt.o, got, tt.dw, tt.dh)
			continue
		}
		if at(out, tt.tl.X, tt.tl.Y) != tl || at(out, tt.tr.X, tt.tr.Y) != tr {
			t.Errorf("orient %d: corners misplaced", tt.o)
		}
	}
}

// TestUnorientRect checks that cropping the displayed image equals orienting
// the crop of the stored image at the mapped rectangle.
func TestUnorientRect(t *testing.T) {
	t.Parallel()
	src := numbered(7, 5)
	for o := 1; o <= 8; o++ {
		disp := orient(src, o)
		db := disp.Bounds()
		for _, r := range []image.Rectangle{db, image.Rect(1, 1, 3, 4), image.Rect(0, 2, db.Dx(), 3), image.Rect(2, 0, 3, db.Dy())} {
			want := disp.SubImage(r).(*image.RGBA)
			got := orient(src.SubImage(unorientRect(r, o, 7, 5)).(*image.RGBA), o)
			if got.Bounds().Size() != r.Size() {
				t.Fatalf("o=%d rect %v: size %v", o, r, got.Bounds().Size())
			}
			for y := range r.Dy() {
				for x := range r.Dx() {
					gm := got.Bounds().Min
					if got.RGBAAt(gm.X+x, gm.Y+y) != want.RGBAAt(r.Min.X+x, r.Min.Y+y) {
						t.Fatalf("o=%d rect %v: pixel (%d,%d) differs", o, r, x, y)
					}
				}
			}
		}
	}
}

// withEXIF returns jpg with an APP1 EXIF segment holding orientation o.
func withEXIF(jpg []byte, o uint16, order binary.ByteOrder) []byte {
	var tiff bytes.Buffer
	if order == binary.LittleEndian {
		tiff.WriteString("II")
	} else {
		tiff.WriteString("MM")
	}
	w := func(v any) { _ = binary.Write(&tiff, order, v) }
	w(uint16(42))
	w(uint32(8))
	w(uint16(2)) // two entries
	w([]uint16{0x010F, 2})
	w(uint32(1))
	w(uint32(0)) // Make, ignored
	w([]uint16{0x0112, 3})
	w(uint32(1))
	w([]uint16{o, 0})
	w(uint32(0))
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xFF, 0xE0, 0, 4, 0, 0) // an unrelated APP0 first
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEXIFOrientation(t *testing.T) {
	t.Parallel()
	plain := jpegBytes(t, halves(8, 8, false))
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"no exif", plain, 1},
		{"little endian 6", withEXIF(plain, 6, binary.LittleEndian), 6},
		{"big endian 8", withEXIF(plain, 8, binary.BigEndian), 8},
		{"big endian 3", withEXIF(plain, 3, binary.BigEndian), 3},
		{"out of range", withEXIF(plain, 9, binary.LittleEndian), 1},
		{"not a jpeg", []byte("GIF89a......"), 1},
		{"empty", nil, 1},
		{"truncated", withEXIF(plain, 6, binary.LittleEndian)[:20], 1},
		{"bad length", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01}, 1},
		{"huge segment", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x'}, 1},
	}
	for _, tt := range tests {
		if got := exifOrientation(bytes.NewReader(tt.data)); got != tt.want {
			t.Errorf("%s: orientation = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func FuzzEXIFOrientation(f *testing.F) {
	plain := jpegBytes(f, halves(4, 4, false))
	f.Add(plain)
	f.Add(withEXIF(plain, 6, binary.LittleEndian))
	f.Add(withEXIF(plain, 8, binary.BigEndian))
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := exifOrientation(bytes.NewReader(data)); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

// getThumb runs ServeThumb and decodes the image it returns.
func getThumb(t *testing.T, s *Service, field *schema.Field, name, size string) (*httptest.ResponseRecorder, image.Config, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	if err := s.ServeThumb(rec, req, "c", "r", name, field, size, false); err != nil {
		t.Fatalf("ServeThumb(%s, %s): %v", name, size, err)
	}
	cfg, format, err := decodeConfig(rec.Body.Bytes())
	if err != nil {
		return rec, image.Config{}, ""
	}
	return rec, cfg, format
}

func decodeConfig(b []byte) (image.Config, string, error) {
	for _, f := range []struct {
		name string
		fn   func(io.Reader) (image.Config, error)
	}{{"png", png.DecodeConfig}, {"jpeg", jpeg.DecodeConfig}, {"gif", gif.DecodeConfig}} {
		if cfg, err := f.fn(bytes.NewReader(b)); err == nil {
			return cfg, f.name, nil
		}
	}
	return image.Config{}, "", fmt.Errorf("not an image")
}

func gifBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{red, blue})
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hugePNG returns a PNG header claiming width×height pixels, with no data.
func hugePNG(width, height uint32) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], width)
	binary.BigEndian.PutUint32(ihdr[4:], height)
	ihdr[8], ihdr[9] = 8, 6
	chunk := []byte{0, 0, 0, 13, 'I', 'H', 'D', 'R'}
	chunk = append(chunk, ihdr[:]...)
	return append(append([]byte("\x89PNG\r\n\x1a\n"), chunk...), 0, 0, 0, 0) // bad CRC is fine for the sniffer
}

func TestServeThumb(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	wideJPEG := jpegBytes(t, halves(400, 200, false))
	files := map[string][]byte{
		"a.png":     pngBytes(t, 400, 200),
		"o.jpg":     withEXIF(wideJPEG, 6, binary.LittleEndian),
		"g.gif":     gifBytes(t, 300, 300),
		"t.txt":     []byte("not an image"),
		"bad.png":   pngBytes(t, 400, 200)[:60],
		"huge.png":  hugePNG(100000, 100000),
		"i.svg":     []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200"/>`),
		"small.png": pngBytes(t, 10, 10),
	}
	for name, b := range files {
		if err := s.Save(ctx, "c", "r", name, FromBytes(name, b)); err != nil {
			t.Fatal(err)
		}
	}
	field := &schema.Field{Name: "f", Type: schema.TypeFile, Thumbs: []string{"50x0", "0x60", "100x100f"}}
	tests := []struct {
		name, size string
		w, h       int
		format     string
		dispo      string
		thumb      bool // a thumbnail is stored
	}{
		{"a.png", "100x100", 100, 100, "png", "inline; filename=100x100_a.png", true},
		{"a.png", "50x0", 50, 25, "png", "inline; filename=50x0_a.png", true},
		{"a.png", "100x100f", 100, 50, "png", "inline; filename=100x100f_a.png", true},
		{"a.png", "50x50", 400, 200, "png", "inline; filename=a.png", false}, // not allowed: original
		{"a.png", "", 400, 200, "png", "inline; filename=a.png", false},
		{"a.png", "garbage", 400, 200, "png", "inline; filename=a.png", false},
		{"o.jpg", "0x60", 30, 60, "jpeg", "inline; filename=0x60_o.jpg", true}, // rotated by EXIF
		{"g.gif", "100x100", 100, 100, "gif", "inline; filename=100x100_g.gif", true},
		{"small.png", "100x100", 100, 100, "png", "inline; filename=100x100_small.png", true},
		{"bad.png", "100x100", 400, 200, "png", "inline; filename=bad.png", false}, // broken: original
		{"huge.png", "100x100", 0, 0, "", "inline; filename=huge.png", false},      // too large: original
		{"t.txt", "100x100", 0, 0, "", "attachment; filename=t.txt", false},
		{"i.svg", "100x100", 0, 0, "", "attachment; filename=i.svg", false},
	}
	for _, tt := range tests {
		rec, cfg, format := getThumb(t, s, field, tt.name, tt.size)
		if cfg.Width != tt.w || cfg.Height != tt.h || format != tt.format {
			t.Errorf("ServeThumb(%s, %q) = %s %dx%d, want %s %dx%d", tt.name, tt.size, format, cfg.Width, cfg.Height, tt.format, tt.w, tt.h)
		}
		if got := rec.Header().Get("Content-Disposition"); got != tt.dispo {
			t.Errorf("ServeThumb(%s, %q) Content-Disposition = %q, want %q", tt.name, tt.size, got, tt.dispo)
		}
		if !tt.thumb && !bytes.Equal(rec.Body.Bytes(), files[tt.name]) {
			t.Errorf("ServeThumb(%s, %q) did not serve the original", tt.name, tt.size)
		}
		obj, err := s.store.Open(ctx, "c/r/thumbs_"+tt.name+"/"+tt.size+"_"+tt.name)
		if stored := err == nil; stored != tt.thumb {
			t.Errorf("ServeThumb(%s, %q): thumb stored = %v, want %v", tt.name, tt.size, stored, tt.thumb)
		}
		if err == nil {
			obj.Close()
		}
	}

	// The orientation was applied: the red left half of the stored image
	// is the top of the thumbnail.
	rec, _, _ := getThumb(t, s, field, "o.jpg", "0x60")
	img, err := jpeg.Decode(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	r, _, b, _ := img.At(15, 5).RGBA()
	if r < b {
		t.Errorf("top of the oriented thumb is not red")
	}

	// A stored thumbnail is served as stored.
	marker := pngBytes(t, 7, 7)
	if err := s.store.Put(ctx, "c/r/thumbs_a.png/100x100_a.png", bytes.NewReader(marker)); err != nil {
		t.Fatal(err)
	}
	if _, cfg, _ := getThumb(t, s, field, "a.png", "100x100"); cfg.Width != 7 {
		t.Errorf("cached thumb not used: width %d", cfg.Width)
	}

	// Missing files and bad names are not_found, with or without a size.
	for _, name := range []string{"missing.png", "../r/a.png", ".x"} {
		for _, size := range []string{"", "100x100", "1x1"} {
			err := s.ServeThumb(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), "c", "r", name, field, size, false)
			if apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("ServeThumb(%q, %q) = %v, want not_found", name, size, err)
			}
		}
	}
	// A nil field still allows the default size.
	if _, cfg, _ := getThumb(t, s, nil, "g.gif", "100x100"); cfg.Width != 100 {
		t.Errorf("default thumb with nil field: width %d", cfg.Width)
	}
}

func TestServeThumbConcurrent(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	if err := s.Save(context.Background(), "c", "r", "a.jpg", FromBytes("a.jpg", jpegBytes(t, halves(800, 600, false)))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	bodies := make([][]byte, 16)
	for i := range bodies {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			if err := s.ServeThumb(rec, httptest.NewRequest("GET", "/", nil), "c", "r", "a.jpg", nil, "100x100", false); err != nil {
				t.Error(err)
			}
			bodies[i] = rec.Body.Bytes()
		})
	}
	wg.Wait()
	for i, b := range bodies {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width != 100 || cfg.Height != 100 {
			t.Errorf("response %d: %v %dx%d", i, err, cfg.Width, cfg.Height)
		}
	}
	if len(s.thumbs) != 0 {
		t.Errorf("%d thumb calls left pending", len(s.thumbs))
	}
}

func BenchmarkThumbnail12MP(b *testing.B) {
	src := jpegBytes(b, halves(4000, 3000, false))
	spec, _ := parseThumb("100x100")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := thumbnail(bytes.NewReader(src), "image/jpeg", spec); err != nil {
			b.Fatal(err)
		}
	}
}
