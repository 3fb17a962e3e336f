package backup

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// storagePrefix is the folder of stored files inside a backup.
const storagePrefix = "storage/"

// maxEntries bounds how many entries a backup may hold.
const maxEntries = 10_000_000

// snapshotFile is a database snapshot to put at the root of a backup.
type snapshotFile struct{ name, path string }

// writeArchive writes the zip at dst: the database snapshots at its root and
// every regular file under storageDir below storage/. A stored file removed
// while the archive is written is left out (its record is gone too, or goes
// soon).
func writeArchive(ctx context.Context, dst string, dbs []snapshotFile, storageDir string) (err error) {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	for _, db := range dbs {
		if err := addFile(zw, db.name, db.path); err != nil {
			return fmt.Errorf("adding %s: %w", db.name, err)
		}
	}
	err = filepath.WalkDir(storageDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(storageDir, p)
		if err != nil {
			return err
		}
		err = addFile(zw, storagePrefix+filepath.ToSlash(rel), p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("adding stored files: %w", err)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Sync()
}

func addFile(zw *zip.Writer, name, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: fi.ModTime()}
	h.SetMode(0o640)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, in)
	return err
}

// invalid is the error of a backup that cannot be restored.
func invalid(reason string, cause error) error {
	return apperr.Wrap(apperr.Invalid, "Invalid backup: "+reason+".", cause)
}

// entryPath validates the name of a zip entry and returns it without a
// trailing "/" and whether it is a directory. Absolute names, "..", empty
// or "." elements, backslashes and NUL bytes are refused (zip slip).
func entryPath(name string) (string, bool, error) {
	dir := strings.HasSuffix(name, "/")
	clean := strings.TrimSuffix(name, "/")
	if clean == "" || strings.ContainsAny(clean, "\\\x00") || strings.HasPrefix(clean, "/") ||
		path.Clean(clean) != clean || filepath.IsAbs(clean) {
		return "", false, fmt.Errorf("unsafe entry name %q", name)
	}
	for _, el := range strings.Split(clean, "/") {
		if el == ".." || el == "." || el == "" {
			return "", false, fmt.Errorf("unsafe entry name %q", name)
		}
	}
	return clean, dir, nil
}

// unpack checks the zip at src and extracts its databases and stored files
// into dest (an empty directory): every entry name must be safe, the sizes
// within bounds, the main database present, and every database must pass
// the integrity check. Other entries are skipped. Any problem is Invalid;
// dest may then hold a partial extraction for the caller to remove.
func (s *Service) unpack(ctx context.Context, src, dest string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("opening backup: %w", err)
	}
	if fi.Size() > s.opts.MaxSize {
		return invalid(fmt.Sprintf("larger than %d bytes", s.opts.MaxSize), nil)
	}
	zr, err := zip.OpenReader(src)
	if err != nil {
		return invalid("not a zip file", err)
	}
	defer zr.Close()
	if len(zr.File) > maxEntries {
		return invalid("too many entries", nil)
	}
	dbNames := map[string]bool{}
	for _, d := range s.opts.Databases {
		dbNames[d.Name] = true
	}
	mainDB := "data.db"
	if len(s.opts.Databases) > 0 {
		mainDB = s.opts.Databases[0].Name
	}
	dbNames[mainDB] = true

	// First pass: names, kinds and declared sizes, before writing anything.
	var declared uint64
	var wanted []*zip.File
	var names []string
	hasMain := false
	for _, f := range zr.File {
		name, dir, err := entryPath(f.Name)
		if err != nil {
			return invalid(err.Error(), nil)
		}
		if mode := f.Mode(); mode&fs.ModeType != 0 && !(dir && mode.IsDir()) {
			return invalid(fmt.Sprintf("entry %q is not a regular file", f.Name), nil)
		}
		declared += f.UncompressedSize64
		if declared > uint64(s.opts.MaxUnpacked) {
			return invalid(fmt.Sprintf("unpacks to more than %d bytes", s.opts.MaxUnpacked), nil)
		}
		if dir {
			continue
		}
		switch {
		case dbNames[name]:
			hasMain = hasMain || name == mainDB
		case strings.HasPrefix(name, storagePrefix):
		default:
			continue // not part of what Basalt restores
		}
		wanted = append(wanted, f)
		names = append(names, name)
	}
	if !hasMain {
		return invalid("no "+mainDB+" at the root of the zip", nil)
	}

	// Second pass: extract, counting real bytes (declared sizes can lie).
	budget := s.opts.MaxUnpacked
	for i, f := range wanted {
		if err := ctx.Err(); err != nil {
			return err
		}
		target := filepath.Join(dest, filepath.FromSlash(names[i]))
		if !strings.HasPrefix(target, filepath.Clean(dest)+string(filepath.Separator)) {
			return invalid(fmt.Sprintf("unsafe entry name %q", f.Name), nil)
		}
		n, err := extract(f, target, budget)
		if err != nil {
			return err
		}
		budget -= n
	}
	for name := range dbNames {
		p := filepath.Join(dest, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if s.opts.Check != nil {
			if err := s.opts.Check(ctx, p); err != nil {
				return invalid(name+" is not an intact database", err)
			}
		}
	}
	return nil
}

// extract writes one entry to target, failing once more than budget bytes
// come out of it.
func extract(f *zip.File, target string, budget int64) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return 0, fmt.Errorf("extracting backup: %w", err)
	}
	rc, err := f.Open()
	if err != nil {
		return 0, invalid(fmt.Sprintf("entry %q cannot be read", f.Name), err)
	}
	defer rc.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return 0, invalid(fmt.Sprintf("duplicate entry %q", f.Name), err)
		}
		return 0, fmt.Errorf("extracting backup: %w", err)
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, invalid(fmt.Sprintf("entry %q cannot be read", f.Name), err)
	}
	if n > budget {
		return n, invalid("unpacks to more bytes than allowed", nil)
	}
	return n, nil
}
