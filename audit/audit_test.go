package audit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/batchledger/batchledger/audit"
	"github.com/batchledger/batchledger/config"
	"github.com/batchledger/batchledger/models"
)

// These integration tests use the real Azurite and PostgreSQL of the local
// stack (scripts/test.sh starts it and sets BATCHLEDGER_E2E=1).
func integration(t *testing.T) (config.Config, *audit.BlobStore, *gorm.DB) {
	t.Helper()
	if os.Getenv("BATCHLEDGER_E2E") != "1" {
		t.Skip("integration test: needs the local stack (make test)")
	}
	ctx := context.Background()
	cfg, err := config.FromEnv()
	require.NoError(t, err)
	cfg.AuditContainer = "audit-test"
	store, err := audit.NewBlobStore(ctx, cfg.StorageConnection, cfg.AuditContainer)
	require.NoError(t, err)
	db, err := audit.OpenDB(ctx, cfg.DatabaseURL)
	require.NoError(t, err)
	require.NoError(t, audit.Migrate(ctx, db, nil))
	return cfg, store, db
}

func rawContainer(t *testing.T, cfg config.Config) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClientFromConnectionString(cfg.StorageConnection, nil)
	require.NoError(t, err)
	return c
}

func TestBlobStorePutIsContentAddressedAndIdempotent(t *testing.T) {
	cfg, store, _ := integration(t)
	ctx := context.Background()
	data := []byte(fmt.Sprintf("payload %d\n", time.Now().UnixNano()))
	ref, err := store.Put(ctx, data)
	require.NoError(t, err)
	require.Equal(t, audit.Hash(data), ref.SHA256)
	require.Equal(t, "sha256/"+ref.SHA256, ref.BlobName())
	again, err := store.Put(ctx, data) // existing blob with this name is success
	require.NoError(t, err)
	require.Equal(t, ref, again)

	got, err := store.Get(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, data, got)

	// Independently of the store: the blob holds exactly these bytes.
	resp, err := rawContainer(t, cfg).DownloadStream(ctx, cfg.AuditContainer, ref.BlobName(), nil)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, data, raw)

	rng, err := store.GetRange(ctx, models.Range{Blob: ref.SHA256, Offset: 8, Length: int64(len(data) - 9), SHA256: audit.Hash(data[8 : len(data)-1])})
	require.NoError(t, err)
	require.Equal(t, data[8:len(data)-1], rng)
	_, err = store.GetRange(ctx, models.Range{Blob: ref.SHA256, Offset: 7, Length: 3, SHA256: audit.Hash(data[8:11])})
	require.ErrorIs(t, err, audit.ErrIntegrity, "a range whose bytes do not hash to the line hash is refused")
}

func TestBlobStoreDetectsTampering(t *testing.T) {
	cfg, store, _ := integration(t)
	ctx := context.Background()
	want := []byte(fmt.Sprintf("original %d", time.Now().UnixNano()))
	ref := models.Ref{SHA256: audit.Hash(want), Size: int64(len(want))}
	// Someone writes other bytes of the same length under that name.
	forged := []byte(strings.Repeat("x", len(want)))
	_, err := rawContainer(t, cfg).UploadBuffer(ctx, cfg.AuditContainer, ref.BlobName(), forged, nil)
	require.NoError(t, err)
	_, err = store.Get(ctx, ref)
	require.ErrorIs(t, err, audit.ErrIntegrity)
	_, err = store.Get(ctx, models.Ref{SHA256: audit.Hash([]byte("never stored")), Size: 12})
	require.ErrorIs(t, err, audit.ErrNotFound)
}

// fakeAzure answers 500 on the first attempt and 200 after, echoing nothing secret.
func fakeAzure(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"code":"InternalServerError","message":"try again"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"id":"batch_1","object":"batch","status":"in_progress","endpoint":"/chat/completions","input_file_id":"file-1","completion_window":"24h","created_at":1}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func newClient(srv *httptest.Server, rec *audit.Recorder, key string) openai.Client {
	return openai.NewClient(azure.WithEndpoint(srv.URL, "2024-10-21"), azure.WithAPIKey(key),
		option.WithMiddleware(rec.Middleware()), azure.WithUnsafeAllowHTTP(), option.WithMaxRetryDelay(10*time.Millisecond))
}

func TestMiddlewareRecordsEveryAttemptWithSecretsRedacted(t *testing.T) {
	_, store, db := integration(t)
	ctx := context.Background()
	srv, hits := fakeAzure(t)
	rec := &audit.Recorder{Store: store, DB: db}
	key := fmt.Sprintf("secret-key-%d", time.Now().UnixNano())
	client := newClient(srv, rec, key)

	runID := fmt.Sprintf("audit-test-%d", time.Now().UnixNano())
	scope := audit.NewScope(runID, "Poll", 1)
	sctx := audit.WithOperation(audit.WithScope(ctx, scope), "batches.retrieve")
	b, err := client.Batches.Get(sctx, "batch_1")
	require.NoError(t, err)
	require.Equal(t, "in_progress", string(b.Status))
	require.EqualValues(t, 2, hits.Load(), "the SDK retried once")

	var calls []models.Call
	require.NoError(t, db.Where("run_id = ?", runID).Order("call_index").Find(&calls).Error)
	require.Len(t, calls, 2, "both attempts are recorded")
	require.Equal(t, 500, calls[0].Status)
	require.NotNil(t, calls[0].ErrorJSON)
	require.Equal(t, 200, calls[1].Status)
	for i, c := range calls {
		require.EqualValues(t, i, c.CallIndex)
		require.Equal(t, "batches.retrieve", c.Operation)
		require.Equal(t, "GET", c.Method)
		reqBytes, err := store.Get(ctx, models.Ref{SHA256: c.RequestHash, Size: c.RequestSize})
		require.NoError(t, err)
		require.NotContains(t, string(reqBytes), key)
		require.Contains(t, string(reqBytes), "Api-Key: [REDACTED]\r\n")
		require.True(t, strings.HasPrefix(string(reqBytes), "GET /openai/batches/batch_1?api-version=2024-10-21 HTTP/1.1\r\n"), string(reqBytes))
		respBytes, err := store.Get(ctx, models.Ref{SHA256: *c.ResponseHash, Size: *c.ResponseSize})
		require.NoError(t, err)
		body := respBytes[*c.ResponseBodyOffset:]
		if i == 0 {
			require.Equal(t, `{"error":{"code":"InternalServerError","message":"try again"}}`, string(body))
		} else {
			require.True(t, strings.HasPrefix(string(body), `{"id":"batch_1"`))
		}
	}
}

func TestMiddlewareRecordsTransportFailures(t *testing.T) {
	_, store, db := integration(t)
	ctx := context.Background()
	srv, _ := fakeAzure(t)
	srv.Close() // nothing listens any more
	rec := &audit.Recorder{Store: store, DB: db}
	client := newClient(srv, rec, "k")
	runID := fmt.Sprintf("audit-test-%d", time.Now().UnixNano())
	sctx := audit.WithOperation(audit.WithScope(ctx, audit.NewScope(runID, "Poll", 1)), "batches.retrieve")
	_, err := client.Batches.Get(sctx, "batch_1", option.WithMaxRetries(0))
	require.Error(t, err)
	var calls []models.Call
	require.NoError(t, db.Where("run_id = ?", runID).Find(&calls).Error)
	require.Len(t, calls, 1)
	require.Equal(t, 0, calls[0].Status)
	require.Nil(t, calls[0].ResponseHash, "no response arrived, none is invented")
	require.NotNil(t, calls[0].ErrorJSON)
	require.Contains(t, *calls[0].ErrorJSON, "connect")
}

func TestUnscopedOrUnrecordableCallsAreRefused(t *testing.T) {
	_, store, db := integration(t)
	ctx := context.Background()
	srv, hits := fakeAzure(t)
	rec := &audit.Recorder{Store: store, DB: db}
	client := newClient(srv, rec, "k")
	_, err := client.Batches.Get(ctx, "batch_1", option.WithMaxRetries(0))
	require.ErrorContains(t, err, "no audit scope")
	require.Zero(t, hits.Load(), "an unscoped call never reaches Azure")

	// When the calls row cannot be written the call fails instead of going on unrecorded.
	cfg, err := config.FromEnv()
	require.NoError(t, err)
	broken, err := audit.OpenDB(ctx, cfg.DatabaseURL)
	require.NoError(t, err)
	sqlDB, err := broken.DB()
	require.NoError(t, err)
	require.NoError(t, sqlDB.Close())
	client = newClient(srv, &audit.Recorder{Store: store, DB: broken}, "k")
	sctx := audit.WithScope(ctx, audit.NewScope("audit-test-broken", "Poll", 1))
	_, err = client.Batches.Get(sctx, "batch_1", option.WithMaxRetries(0))
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "record") || errors.Is(err, context.Canceled), err.Error())
}
