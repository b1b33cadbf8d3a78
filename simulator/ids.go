package simulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
)

var (
	fileIDPattern  = regexp.MustCompile(`^file-[A-Za-z0-9-]{1,64}$`)
	batchIDPattern = regexp.MustCompile(`^batch_[A-Za-z0-9-]{1,64}$`)
)

// newFileID returns "file-" and 32 random hex digits, as Azure's upload ids look.
func newFileID() string {
	b := randomBytes16()
	return "file-" + hex.EncodeToString(b[:])
}

// newBatchID returns "batch_" and a random UUID (version 4).
func newBatchID() string {
	return "batch_" + formatUUID(randomBytes16())
}

func randomBytes16() [16]byte {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return b
}

func formatUUID(b [16]byte) string {
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// derivedFileID names a generated file after its batch, so regenerating the
// output after a crash overwrites the same file instead of orphaning one.
func derivedFileID(batchID, kind string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + batchID))
	return "file-" + hex.EncodeToString(sum[:16])
}

// digestUUID formats the first 16 bytes of a digest as a UUID.
func digestUUID(sum [32]byte) string {
	var b [16]byte
	copy(b[:], sum[:16])
	return formatUUID(b)
}
