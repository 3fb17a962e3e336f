package file

import (
	"image"
	"image/draw"
	"math"
)

// contrib is one input sample's weight in an output sample.
type contrib struct {
	idx int
	w   float32
}

// weights returns, for each of dn output samples spread over sn input
// samples, the inputs and normalised weights of a triangle (linear) filter.
// When shrinking, the filter widens to the scale factor, so every input
// pixel counts (an area average) rather than every n-th one (aliasing).
func weights(sn, dn int) [][]contrib {
	scale := float64(sn) / float64(dn)
	support := max(1, scale)
	out := make([][]contrib, dn)
	for i := range dn {
		center := (float64(i)+0.5)*scale - 0.5
		lo := int(math.Floor(center - support))
		hi := int(math.Ceil(center + support))
		cs := make([]contrib, 0, hi-lo+1)
		var sum float64
		for k := lo; k <= hi; k++ {
			w := 1 - math.Abs(float64(k)-center)/support
			if w <= 0 {
				continue
			}
			cs = append(cs, contrib{idx: min(max(k, 0), sn-1), w: float32(w)})
			sum += w
		}
		if sum == 0 {
			cs = append(cs[:0], contrib{idx: min(max(int(math.Round(center)), 0), sn-1), w: 1})
			sum = 1
		}
		for j := range cs {
			cs[j].w /= float32(sum)
		}
		out[i] = cs
	}
	return out
}

// resample scales the crop rectangle of src to dw×dh with a separable
// triangle filter. It streams the source one row at a time (converted to
// premultiplied RGBA by image/draw's fast paths), so besides the decoded
// source it needs memory only for the output.
func resample(src image.Image, crop image.Rectangle, dw, dh int) *image.RGBA {
	sw, sh := crop.Dx(), crop.Dy()
	hw := weights(sw, dw)
	// Invert the vertical weights: for each source row, the output rows it
	// feeds and with which weight.
	bySrc := make([][]contrib, sh)
	for j, cs := range weights(sh, dh) {
		for _, c := range cs {
			bySrc[c.idx] = append(bySrc[c.idx], contrib{idx: j, w: c.w})
		}
	}
	row := image.NewRGBA(image.Rect(0, 0, sw, 1))
	hrow := make([]float32, dw*4)
	acc := make([]float32, dw*dh*4)
	for y := range sh {
		if len(bySrc[y]) == 0 {
			continue
		}
		draw.Draw(row, row.Bounds(), src, image.Pt(crop.Min.X, crop.Min.Y+y), draw.Src)
		for x, cs := range hw {
			var r, g, b, a float32
			for _, c := range cs {
				p := row.Pix[c.idx*4 : c.idx*4+4 : c.idx*4+4]
				r += c.w * float32(p[0])
				g += c.w * float32(p[1])
				b += c.w * float32(p[2])
				a += c.w * float32(p[3])
			}
			hrow[x*4], hrow[x*4+1], hrow[x*4+2], hrow[x*4+3] = r, g, b, a
		}
		for _, c := range bySrc[y] {
			out := acc[c.idx*dw*4 : (c.idx+1)*dw*4]
			for i, v := range hrow {
				out[i] += c.w * v
			}
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for i := 0; i < len(acc); i += 4 {
		a := clamp8(acc[i+3])
		dst.Pix[i+3] = a
		for k := range 3 {
			dst.Pix[i+k] = min(clamp8(acc[i+k]), a) // stay premultiplied
		}
	}
	return dst
}

func clamp8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

// orient returns img turned as EXIF orientation o says it is displayed
// (1 or unknown: unchanged).
func orient(img *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return img
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			si := img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)
			di := dst.PixOffset(dx, dy)
			copy(dst.Pix[di:di+4], img.Pix[si:si+4])
		}
	}
	return dst
}

// unorientRect maps a rectangle of the displayed image (after orientation o)
// back to the stored sw×sh image.
func unorientRect(r image.Rectangle, o, sw, sh int) image.Rectangle {
	back := func(x, y int) image.Point {
		switch o {
		case 2:
			return image.Pt(sw-x, y)
		case 3:
			return image.Pt(sw-x, sh-y)
		case 4:
			return image.Pt(x, sh-y)
		case 5:
			return image.Pt(y, x)
		case 6:
			return image.Pt(y, sh-x)
		case 7:
			return image.Pt(sw-y, sh-x)
		case 8:
			return image.Pt(sw-y, x)
		}
		return image.Pt(x, y)
	}
	a, b := back(r.Min.X, r.Min.Y), back(r.Max.X, r.Max.Y)
	return image.Rect(a.X, a.Y, b.X, b.Y) // image.Rect sorts the corners
}
