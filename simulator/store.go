package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const tempPrefix = ".tmp-"

// store keeps files and batches on disk: files/<id>.json (metadata),
// files/<id>.bin (content) and batches/<id>.json. Every write is atomic
// (temp file, fsync, rename, fsync dir) so a crash leaves old or new, never half.
type store struct {
	filesDir   string
	batchesDir string
}

func openStore(dir string) (*store, error) {
	if dir == "" {
		return nil, errors.New("open store: data dir is empty")
	}
	st := &store{
		filesDir:   filepath.Join(dir, "files"),
		batchesDir: filepath.Join(dir, "batches"),
	}
	for _, d := range []string{st.filesDir, st.batchesDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open store: create %s: %w", d, err)
		}
		if err := removeTemps(d); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// removeTemps drops leftovers of writes interrupted by a crash.
func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove temp %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

func (st *store) contentPath(id string) string {
	return filepath.Join(st.filesDir, id+".bin")
}

func (st *store) fileMetaPath(id string) string {
	return filepath.Join(st.filesDir, id+".json")
}

func (st *store) batchPath(id string) string {
	return filepath.Join(st.batchesDir, id+".json")
}

func (st *store) saveFile(rec *fileRecord) error {
	if err := writeJSONAtomic(st.fileMetaPath(rec.ID), rec); err != nil {
		return fmt.Errorf("save file %s: %w", rec.ID, err)
	}
	return nil
}

func (st *store) saveBatch(rec *batchRecord) error {
	if err := writeJSONAtomic(st.batchPath(rec.ID), rec); err != nil {
		return fmt.Errorf("save batch %s: %w", rec.ID, err)
	}
	return nil
}

// deleteFile removes metadata first so a crash never leaves a listed file
// without content.
func (st *store) deleteFile(id string) error {
	if err := os.Remove(st.fileMetaPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete file %s metadata: %w", id, err)
	}
	if err := os.Remove(st.contentPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete file %s content: %w", id, err)
	}
	return syncDir(st.filesDir)
}

// loadFiles reads every file whose metadata and content are both present.
func (st *store) loadFiles() (map[string]*fileRecord, error) {
	out := map[string]*fileRecord{}
	err := loadJSONDir(st.filesDir, func(path string, data []byte) error {
		var rec fileRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			return fmt.Errorf("decode %s: %w", path, err)
		}
		if _, err := os.Stat(st.contentPath(rec.ID)); err != nil {
			return fmt.Errorf("file %s: content: %w", rec.ID, err)
		}
		out[rec.ID] = &rec
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load files: %w", err)
	}
	return out, nil
}

func (st *store) loadBatches() (map[string]*batchRecord, error) {
	out := map[string]*batchRecord{}
	err := loadJSONDir(st.batchesDir, func(path string, data []byte) error {
		var rec batchRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			return fmt.Errorf("decode %s: %w", path, err)
		}
		out[rec.ID] = &rec
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load batches: %w", err)
	}
	return out, nil
}

func loadJSONDir(dir string, fn func(path string, data []byte) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, tempPrefix) {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if err := fn(path, data); err != nil {
			return err
		}
	}
	return nil
}

func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	f, err := createTemp(filepath.Dir(path))
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return commitTemp(f, path)
}

func createTemp(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("create temp in %s: %w", dir, err)
	}
	return f, nil
}

// commitTemp makes a fully written temp file durable under its final name.
// The temp file is removed on any failure.
func commitTemp(f *os.File, path string) error {
	tmp := f.Name()
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", filepath.Base(path), err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
