package file

import (
	"encoding/binary"
	"io"
)

// exifOrientation returns the EXIF orientation (1–8) of the JPEG read from
// r, or 1 when there is none or the data is malformed. It reads only the
// segments before the image data.
func exifOrientation(r io.Reader) int {
	var buf [4]byte
	if _, err := io.ReadFull(r, buf[:2]); err != nil || buf[0] != 0xFF || buf[1] != 0xD8 {
		return 1
	}
	for {
		if _, err := io.ReadFull(r, buf[:2]); err != nil || buf[0] != 0xFF {
			return 1
		}
		marker := buf[1]
		for marker == 0xFF { // fill bytes
			if _, err := io.ReadFull(r, buf[1:2]); err != nil {
				return 1
			}
			marker = buf[1]
		}
		switch {
		case marker == 0xD8 || marker == 0x01 || marker >= 0xD0 && marker <= 0xD7:
			continue // markers without a length
		case marker == 0xDA || marker == 0xD9:
			return 1 // image data or end: no EXIF before it
		}
		if _, err := io.ReadFull(r, buf[:2]); err != nil {
			return 1
		}
		n := int(binary.BigEndian.Uint16(buf[:2])) - 2
		if n < 0 {
			return 1
		}
		if marker != 0xE1 {
			if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
				return 1
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return 1
		}
		if len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
	}
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF header.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:4]) != 42 {
		return 1
	}
	off := int64(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	count := int64(bo.Uint16(t[off : off+2]))
	for i := range count {
		e := off + 2 + i*12
		if e+12 > int64(len(t)) {
			return 1
		}
		if bo.Uint16(t[e:e+2]) != 0x0112 {
			continue
		}
		if bo.Uint16(t[e+2:e+4]) != 3 { // SHORT
			return 1
		}
		if v := int(bo.Uint16(t[e+8 : e+10])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}
