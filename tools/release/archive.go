package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// entry is one file of an archive.
type entry struct {
	name string // path inside the archive, slash-separated
	src  string // file on disk
	mode os.FileMode
}

// archive writes one platform's archive (.zip for Windows, .tar.gz
// elsewhere) and its SBOM. Every file sits under a directory named like
// the archive, with fixed owner, mode and timestamp.
func (c *config) archive(ctx context.Context, p platform) error {
	base := c.artifactBase(p)
	var entries []entry
	for _, b := range binaries {
		entries = append(entries, entry{base + "/" + b + exeSuffix(p), c.builtBinaries[p][b], 0o755})
	}
	entries = append(entries,
		entry{base + "/LICENSE", filepath.Join(c.repo, "LICENSE"), 0o644},
		entry{base + "/README.md", filepath.Join(c.repo, "README.md"), 0o644})
	name := base + ".tar.gz"
	if p.os == "windows" {
		name = base + ".zip"
	}
	path := filepath.Join(c.out, name)
	fmt.Fprintf(os.Stderr, "release: %s\n", name)
	var err error
	if p.os == "windows" {
		err = writeZip(path, entries, c.epoch)
	} else {
		err = writeTar(path, entries, c.epoch, true)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	c.archiveSHA256s[p] = sum
	if c.formats["sbom"] {
		return c.sbom(ctx, p, path)
	}
	return nil
}

// writeTar writes a tar (gzip'd if compress) without names, owners or
// times that depend on the machine; every parent directory gets an entry.
func writeTar(path string, entries []entry, mtime time.Time, compress bool) error {
	return writeAtomic(path, func(w io.Writer) error {
		var gz *gzip.Writer
		if compress {
			var err error
			if gz, err = gzip.NewWriterLevel(w, gzip.BestCompression); err != nil {
				return err
			}
			gz.ModTime = mtime
			w = gz
		}
		tw := tar.NewWriter(w)
		dirs := map[string]bool{}
		for _, e := range entries {
			parts := strings.Split(e.name, "/")
			for i := 1; i < len(parts); i++ {
				dir := strings.Join(parts[:i], "/") + "/"
				if dirs[dir] {
					continue
				}
				dirs[dir] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755,
					ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatPAX}); err != nil {
					return err
				}
			}
			data, err := os.ReadFile(e.src)
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: int64(e.mode), Size: int64(len(data)),
				ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatPAX}); err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		if gz != nil {
			return gz.Close()
		}
		return nil
	})
}

// writeZip writes a zip whose entries carry mtime and the Unix modes.
func writeZip(path string, entries []entry, mtime time.Time) error {
	return writeAtomic(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, e := range entries {
			data, err := os.ReadFile(e.src)
			if err != nil {
				return err
			}
			h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
			h.SetMode(e.mode)
			f, err := zw.CreateHeader(h)
			if err != nil {
				return err
			}
			if _, err := f.Write(data); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}

// writeAtomic writes path through a temporary file renamed into place.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeChecksums writes SHA256SUMS over every file under dir (sorted,
// slash-separated relative paths, the format `sha256sum -c` reads).
func writeChecksums(dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel != "SHA256SUMS" {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		sum, err := fileSHA256(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, f)
	}
	fmt.Fprintf(os.Stderr, "release: SHA256SUMS (%d files)\n", len(files))
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}
