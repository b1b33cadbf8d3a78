package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"time"
)

func (s *Server) handleUploadFile(w http.ResponseWriter, r *http.Request) {
	up, ok := s.receiveUpload(w, r)
	if !ok {
		return
	}
	defer up.discard()
	// The scenario comes from the content, so faults are decided only once
	// the upload has been read.
	scenario := s.uploadScenario(up.model)
	f := s.pickFault(s.scenarioNamed(scenario), FaultInput{Op: OpUploadFile, ContentSHA256: up.sha256, Request: r})
	s.serveWithFault(w, r, f, func(w http.ResponseWriter) { s.storeUpload(w, up, scenario) })
}

// upload is a multipart upload streamed to a temp file in the store.
type upload struct {
	purpose  string
	filename string
	tmp      *os.File
	size     int64
	sha256   string // hex digest of the file content
	model    string // body.model of the first parseable line
}

// discard removes the temp file unless it was stored.
func (up *upload) discard() {
	if up.tmp != nil {
		_ = up.tmp.Close()
		_ = os.Remove(up.tmp.Name())
		up.tmp = nil
	}
}

// receiveUpload reads and checks the request; on failure it has answered
// and returns false. The caller discards the returned upload.
func (s *Server) receiveUpload(w http.ResponseWriter, r *http.Request) (*upload, bool) {
	// Multipart framing adds a little on top of the file itself.
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalidPayload", "The request must be multipart/form-data.", nil)
		return nil, false
	}
	up := &upload{}
	fail := func(status int, msg string, param *string) (*upload, bool) {
		up.discard()
		writeError(w, status, "invalidPayload", msg, param)
		return nil, false
	}
	if status, msg, param := s.readUpload(mr, up); status != 0 {
		return fail(status, msg, param)
	}
	switch {
	case up.purpose == "":
		return fail(http.StatusBadRequest, "The purpose field is required.", strPtr("purpose"))
	case up.purpose != purposeBatch:
		return fail(http.StatusBadRequest,
			fmt.Sprintf("Unsupported purpose %q: this simulator accepts only \"batch\".", up.purpose), strPtr("purpose"))
	case up.tmp == nil:
		return fail(http.StatusBadRequest, "The file field is required.", strPtr("file"))
	}
	if err := s.sniffModel(up); err != nil {
		up.discard()
		writeInternal(w, s.log, "upload file", err)
		return nil, false
	}
	return up, true
}

// sniffModel reads the deployment name from the received file.
func (s *Server) sniffModel(up *upload) error {
	if _, err := up.tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind upload %s: %w", up.tmp.Name(), err)
	}
	model, err := firstModel(up.tmp)
	if err != nil {
		return fmt.Errorf("upload %s: %w", up.tmp.Name(), err)
	}
	up.model = model
	return nil
}

// storeUpload makes a received upload a stored file.
func (s *Server) storeUpload(w http.ResponseWriter, up *upload, scenario string) {
	rec := &fileRecord{
		ID: newFileID(), Bytes: up.size, CreatedAt: s.cfg.Now(), Filename: up.filename, Purpose: up.purpose,
		Model: up.model, Scenario: scenario,
	}
	tmp := up.tmp
	up.tmp = nil // commitTemp owns it now
	if err := commitTemp(tmp, s.store.contentPath(rec.ID)); err != nil {
		writeInternal(w, s.log, "upload file", fmt.Errorf("store content of %s: %w", rec.ID, err))
		return
	}
	s.mu.Lock()
	err := s.store.saveFile(rec)
	if err == nil {
		s.files[rec.ID] = rec
	}
	s.mu.Unlock()
	if err != nil {
		_ = os.Remove(s.store.contentPath(rec.ID))
		writeInternal(w, s.log, "upload file", err)
		return
	}
	s.log.Info("file uploaded", "file_id", rec.ID, "bytes", rec.Bytes, "purpose", rec.Purpose,
		"sha256", up.sha256, "deployment", rec.Model, "scenario", scenario)
	w.Header().Set("Location", "/openai/files/"+rec.ID)
	writeJSON(w, http.StatusCreated, rec.api())
}

// readUpload consumes the multipart parts; a non-zero status means reject.
func (s *Server) readUpload(mr *multipart.Reader, up *upload) (int, string, *string) {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return 0, "", nil
		}
		if err != nil {
			if tooLarge(err) {
				return http.StatusRequestEntityTooLarge, "The file is too large.", strPtr("file")
			}
			return http.StatusBadRequest, "Malformed multipart body.", nil
		}
		switch part.FormName() {
		case "purpose":
			b, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				return http.StatusBadRequest, "Malformed purpose field.", strPtr("purpose")
			}
			up.purpose = string(b)
		case "file":
			if up.tmp != nil {
				return http.StatusBadRequest, "Only one file may be uploaded.", strPtr("file")
			}
			tmp, err := createTemp(s.store.filesDir)
			if err != nil {
				s.log.Error("upload temp file", "err", err)
				return http.StatusInternalServerError, "Internal error. Please retry.", nil
			}
			up.tmp = tmp
			up.filename = part.FileName()
			if up.filename == "" {
				up.filename = "file"
			}
			h := sha256.New()
			n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(part, s.cfg.MaxUploadBytes+1))
			if err != nil {
				if tooLarge(err) {
					return http.StatusRequestEntityTooLarge, "The file is too large.", strPtr("file")
				}
				return http.StatusBadRequest, "Could not read the file field.", strPtr("file")
			}
			if n > s.cfg.MaxUploadBytes {
				return http.StatusRequestEntityTooLarge,
					"The file exceeds the maximum size of " + strconv.FormatInt(s.cfg.MaxUploadBytes, 10) + " bytes.", strPtr("file")
			}
			up.size = n
			up.sha256 = hex.EncodeToString(h.Sum(nil))
		default:
			// Other fields (e.g. expires_after) are accepted and ignored.
			_, _ = io.Copy(io.Discard, part)
		}
	}
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func (s *Server) handleListFiles(w http.ResponseWriter, r *http.Request) {
	f := s.pickFault(s.globalScenario(), FaultInput{Op: OpListFiles, Request: r})
	s.serveWithFault(w, r, f, func(w http.ResponseWriter) {
		q := r.URL.Query()
		p, err := parseListParams(q, 10000, 10000)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalidPayload", err.Error(), nil)
			return
		}
		purpose := q.Get("purpose")
		s.mu.Lock()
		files := make([]*fileRecord, 0, len(s.files))
		for _, f := range s.files {
			if purpose == "" || f.Purpose == purpose {
				files = append(files, f)
			}
		}
		s.mu.Unlock()
		fileID := func(f *fileRecord) string { return f.ID }
		sortByCreation(files, func(f *fileRecord) time.Time { return f.CreatedAt }, fileID, p.asc)
		sel, more, err := page(files, fileID, p)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalidPayload", err.Error(), strPtr("after"))
			return
		}
		data := make([]apiFile, len(sel))
		for i, f := range sel {
			data[i] = f.api()
		}
		writeJSON(w, http.StatusOK, newList(data, func(f apiFile) string { return f.ID }, more))
	})
}

// lookupFile returns a copy-safe pointer to the file record (records are
// replaced, never mutated).
func (s *Server) lookupFile(id string) (*fileRecord, bool) {
	if !fileIDPattern.MatchString(id) {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	return f, ok
}

func (s *Server) handleGetFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f := s.pickFault(s.fileScenario(id), FaultInput{Op: OpGetFile, FileID: id, Request: r})
	s.serveWithFault(w, r, f, func(w http.ResponseWriter) {
		rec, ok := s.lookupFile(id)
		if !ok {
			writeNotFound(w, "File", id)
			return
		}
		writeJSON(w, http.StatusOK, rec.api())
	})
}

func (s *Server) handleDeleteFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f := s.pickFault(s.fileScenario(id), FaultInput{Op: OpDeleteFile, FileID: id, Request: r})
	s.serveWithFault(w, r, f, func(w http.ResponseWriter) { s.deleteFile(w, id) })
}

func (s *Server) deleteFile(w http.ResponseWriter, id string) {
	if !fileIDPattern.MatchString(id) {
		writeNotFound(w, "File", id)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.files[id]; !ok {
		writeNotFound(w, "File", id)
		return
	}
	// A running batch still needs its input; the real service copies it,
	// the simulator refuses instead of failing the batch later.
	now := s.cfg.Now()
	for _, b := range s.batches {
		if b.InputFileID != id || b.terminal() {
			continue
		}
		nb, err := s.advance(b, now)
		if err != nil {
			writeInternal(w, s.log, "delete file", err)
			return
		}
		if !nb.terminal() {
			writeError(w, http.StatusConflict, "conflict",
				fmt.Sprintf("File %s is the input of batch %s, which is %s.", id, nb.ID, nb.Status), nil)
			return
		}
	}
	if err := s.store.deleteFile(id); err != nil {
		writeInternal(w, s.log, "delete file", err)
		return
	}
	delete(s.files, id)
	s.log.Info("file deleted", "file_id", id)
	writeJSON(w, http.StatusOK, struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Deleted bool   `json:"deleted"`
	}{ID: id, Object: "file", Deleted: true})
}

func (s *Server) handleFileContent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f := s.pickFault(s.fileScenario(id), FaultInput{Op: OpFileContent, FileID: id, Request: r})
	s.serveWithFault(w, r, f, func(w http.ResponseWriter) { s.fileContent(w, id) })
}

func (s *Server) fileContent(w http.ResponseWriter, id string) {
	if !fileIDPattern.MatchString(id) {
		writeNotFound(w, "File", id)
		return
	}
	// Open under the lock: once open, a concurrent delete cannot cut the read short.
	s.mu.Lock()
	rec, ok := s.files[id]
	var content *os.File
	var err error
	if ok {
		content, err = os.Open(s.store.contentPath(id))
	}
	s.mu.Unlock()
	if !ok {
		writeNotFound(w, "File", id)
		return
	}
	if err != nil {
		writeInternal(w, s.log, "file content", fmt.Errorf("open content of %s: %w", id, err))
		return
	}
	defer func() { _ = content.Close() }()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(rec.Bytes, 10))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, content); err != nil {
		s.log.Warn("file content: copy interrupted", "file_id", id, "err", err)
	}
}
