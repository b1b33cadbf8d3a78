package simulator

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoreAtomicWritesAndCleanup(t *testing.T) {
	dir := t.TempDir()
	st, err := openStore(dir)
	require.NoError(t, err)

	// A crash mid-write leaves a temp file; reopening removes it and ignores it.
	stray := filepath.Join(st.batchesDir, tempPrefix+"123")
	require.NoError(t, os.WriteFile(stray, []byte("{half"), 0o600))
	rec := &batchRecord{ID: "batch_1", Status: statusValidating}
	require.NoError(t, st.saveBatch(rec))

	st, err = openStore(dir)
	require.NoError(t, err)
	_, err = os.Stat(stray)
	assert.True(t, os.IsNotExist(err))
	batches, err := st.loadBatches()
	require.NoError(t, err)
	require.Contains(t, batches, "batch_1")
	assert.Equal(t, statusValidating, batches["batch_1"].Status)

	// Metadata without content is an anomaly in our own data: refuse to start.
	require.NoError(t, st.saveFile(&fileRecord{ID: "file-x"}))
	_, err = st.loadFiles()
	assert.ErrorContains(t, err, "file-x")
}
