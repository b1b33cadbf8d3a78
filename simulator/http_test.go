package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func multipartUpload(t *testing.T, purpose string, data []byte) (*bytes.Buffer, http.Header) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if purpose != "" {
		require.NoError(t, mw.WriteField("purpose", purpose))
	}
	fw, err := mw.CreateFormFile("file", "in.jsonl")
	require.NoError(t, err)
	_, err = fw.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return &buf, http.Header{"Content-Type": {mw.FormDataContentType()}}
}

func decodeError(t *testing.T, data []byte) azureErrorBody {
	t.Helper()
	var e azureError
	require.NoError(t, json.Unmarshal(data, &e), string(data))
	return e.Error
}

func TestAuthAndAPIVersion(t *testing.T) {
	env := startEnv(t, Config{})

	res, body := env.do("GET", apiPath("/openai/files"), "", nil, nil)
	assert.Equal(t, 401, res.StatusCode)
	assert.JSONEq(t, `{"error":{"code":"401","message":"`+unauthorizedMessage+`"}}`, string(body))

	res, _ = env.do("GET", apiPath("/openai/files"), "", nil, http.Header{"Authorization": {"Bearer " + testKey}})
	assert.Equal(t, 200, res.StatusCode, "bearer token equal to the key is accepted")

	res, _ = env.do("GET", apiPath("/openai/files"), "", nil, http.Header{"Authorization": {"Bearer nope"}})
	assert.Equal(t, 401, res.StatusCode)

	res, body = env.do("GET", "/openai/files", testKey, nil, nil)
	assert.Equal(t, 400, res.StatusCode)
	assert.Equal(t, "MissingApiVersionParameter", decodeError(t, body).Code)

	res, body = env.do("GET", "/healthz", "", nil, nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "ok", string(body))

	res, _ = env.do("GET", "/_sim/batches", "", nil, nil)
	assert.Equal(t, 401, res.StatusCode, "_sim needs the key")

	res, body = env.do("GET", apiPath("/openai/nothing"), testKey, nil, nil)
	assert.Equal(t, 404, res.StatusCode)
	assert.Equal(t, "404", decodeError(t, body).Code)
}

func TestFilesAPI(t *testing.T) {
	env := startEnv(t, Config{})

	body, hdr := multipartUpload(t, "fine-tune", []byte("x"))
	res, data := env.do("POST", apiPath("/openai/files"), testKey, body, hdr)
	assert.Equal(t, 400, res.StatusCode)
	e := decodeError(t, data)
	assert.Equal(t, "invalid_request_error", e.Type)
	require.NotNil(t, e.Param)
	assert.Equal(t, "purpose", *e.Param)

	body, hdr = multipartUpload(t, "", []byte("x"))
	res, _ = env.do("POST", apiPath("/openai/files"), testKey, body, hdr)
	assert.Equal(t, 400, res.StatusCode, "purpose is required")

	input := []byte("line one\r\nline two\n")
	body, hdr = multipartUpload(t, "batch", input)
	res, data = env.do("POST", apiPath("/openai/files"), testKey, body, hdr)
	require.Equal(t, 201, res.StatusCode, string(data))
	var f map[string]any
	require.NoError(t, json.Unmarshal(data, &f))
	id := f["id"].(string)
	assert.Regexp(t, `^file-[0-9a-f]{32}$`, id)
	assert.Equal(t, "file", f["object"])
	assert.Equal(t, float64(len(input)), f["bytes"])
	assert.Equal(t, "in.jsonl", f["filename"])
	assert.Equal(t, "processed", f["status"])
	assert.IsType(t, float64(0), f["created_at"])

	res, data = env.do("GET", apiPath("/openai/files/"+id+"/content"), testKey, nil, nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, input, data, "content is returned byte for byte")

	res, data = env.do("GET", apiPath("/openai/files"), testKey, nil, nil)
	assert.Equal(t, 200, res.StatusCode)
	var list apiList[apiFile]
	require.NoError(t, json.Unmarshal(data, &list))
	assert.Equal(t, "list", list.Object)
	assert.False(t, list.HasMore)
	require.Len(t, list.Data, 1)

	res, data = env.do("DELETE", apiPath("/openai/files/"+id), testKey, nil, nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.JSONEq(t, `{"id":"`+id+`","object":"file","deleted":true}`, string(data))

	for _, p := range []string{"/openai/files/" + id, "/openai/files/" + id + "/content", "/openai/files/..%2f..%2fetc"} {
		res, data = env.do("GET", apiPath(p), testKey, nil, nil)
		assert.Equal(t, 404, res.StatusCode, p)
		assert.Equal(t, "notFound", decodeError(t, data).Code, p)
	}
}

func TestUploadSizeLimit(t *testing.T) {
	env := startEnv(t, Config{MaxUploadBytes: 10})
	body, hdr := multipartUpload(t, "batch", []byte("01234567890"))
	res, _ := env.do("POST", apiPath("/openai/files"), testKey, body, hdr)
	assert.Equal(t, 413, res.StatusCode)
}

func TestCreateBatchRejectsBadRequests(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInput(1))

	manyKeys := map[string]string{}
	for i := range 17 {
		manyKeys[fmt.Sprint(i)] = "v"
	}
	tooMany, _ := json.Marshal(manyKeys)
	cases := map[string]string{
		"missing file":      `{"endpoint":"/chat/completions","completion_window":"24h"}`,
		"unknown file":      `{"input_file_id":"file-nope","endpoint":"/chat/completions","completion_window":"24h"}`,
		"bad endpoint":      `{"input_file_id":"` + in.ID + `","endpoint":"/v1/embeddings","completion_window":"24h"}`,
		"bad window":        `{"input_file_id":"` + in.ID + `","endpoint":"/chat/completions","completion_window":"48h"}`,
		"unknown scenario":  `{"input_file_id":"` + in.ID + `","endpoint":"/chat/completions","completion_window":"24h","metadata":{"sim_scenario":"nope"}}`,
		"too much metadata": `{"input_file_id":"` + in.ID + `","endpoint":"/chat/completions","completion_window":"24h","metadata":` + string(tooMany) + `}`,
		"not json":          `{`,
	}
	for name, body := range cases {
		res, data := env.do("POST", apiPath("/openai/batches"), testKey, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
		assert.Equal(t, 400, res.StatusCode, name)
		assert.Equal(t, "invalid_request_error", decodeError(t, data).Type, name)
	}
	res, _ := env.do("GET", apiPath("/openai/batches/batch_missing"), testKey, nil, nil)
	assert.Equal(t, 404, res.StatusCode)
	res, _ = env.do("POST", apiPath("/openai/batches/batch_missing/cancel"), testKey, nil, nil)
	assert.Equal(t, 404, res.StatusCode)
}

func TestBatchObjectShape(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{Validating: time.Hour})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInput(1))
	b := createBatch(t, ctx, c, in.ID, nil)

	res, data := env.do("GET", apiPath("/openai/batches/"+b.ID), testKey, nil, nil)
	require.Equal(t, 200, res.StatusCode)
	var obj map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &obj))
	for _, k := range []string{"errors", "output_file_id", "error_file_id", "in_progress_at", "finalizing_at",
		"completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at", "metadata"} {
		assert.Equal(t, "null", string(obj[k]), k)
	}
	for _, k := range []string{"id", "object", "endpoint", "input_file_id", "completion_window", "status",
		"created_at", "expires_at", "request_counts"} {
		assert.Contains(t, obj, k)
	}
	assert.Regexp(t, `^"batch_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$`, string(obj["id"]))
	assert.JSONEq(t, `{"total":0,"completed":0,"failed":0}`, string(obj["request_counts"]))
	assert.Regexp(t, `^[0-9]+$`, string(obj["created_at"]), "unix seconds")
}

func TestListBatchesPagination(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	env := startEnv(t, Config{Now: clock.Now})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInput(1))
	var ids []string
	for range 5 {
		ids = append(ids, createBatch(t, ctx, c, in.ID, nil).ID)
		clock.Advance(time.Millisecond) // same second: order must still be stable
	}
	var listed []string
	iter := c.Batches.ListAutoPaging(ctx, openai.BatchListParams{Limit: openai.Int(2)})
	for iter.Next() {
		listed = append(listed, iter.Current().ID)
	}
	require.NoError(t, iter.Err())
	assert.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, listed, "newest first")

	res, data := env.do("GET", apiPath("/openai/batches?limit=2&after="+ids[3]), testKey, nil, nil)
	require.Equal(t, 200, res.StatusCode)
	var page apiList[apiBatch]
	require.NoError(t, json.Unmarshal(data, &page))
	assert.True(t, page.HasMore)
	assert.Equal(t, ids[2], *page.FirstID)
	assert.Equal(t, ids[1], *page.LastID)

	res, _ = env.do("GET", apiPath("/openai/batches?limit=101"), testKey, nil, nil)
	assert.Equal(t, 400, res.StatusCode)
}

func TestSimBatchesFiltersByMetadata(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInput(1))
	b1 := createBatch(t, ctx, c, in.ID, map[string]string{"run": "a", "shard": "0"})
	createBatch(t, ctx, c, in.ID, map[string]string{"run": "a", "shard": "1"})
	createBatch(t, ctx, c, in.ID, map[string]string{"run": "b", "shard": "0"})

	get := func(q url.Values) []apiBatch {
		res, data := env.do("GET", "/_sim/batches?"+q.Encode(), testKey, nil, nil)
		require.Equal(t, 200, res.StatusCode)
		var l apiList[apiBatch]
		require.NoError(t, json.Unmarshal(data, &l))
		return l.Data
	}
	got := get(url.Values{"metadata.run": {"a"}, "metadata.shard": {"0"}})
	require.Len(t, got, 1)
	assert.Equal(t, b1.ID, got[0].ID)
	assert.Equal(t, statusCompleted, got[0].Status, "progression applies to _sim reads too")
	assert.Len(t, get(url.Values{"metadata.run": {"a"}}), 2)
	assert.Len(t, get(url.Values{}), 3)
	assert.Empty(t, get(url.Values{"metadata.run": {"zzz"}}))

	res, data := env.do("GET", "/_sim/scenarios", testKey, nil, nil)
	require.Equal(t, 200, res.StatusCode)
	assert.Contains(t, string(data), `"line_errors"`)
}

func TestDeleteInputOfRunningBatchConflicts(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	env := startEnv(t, Config{Now: clock.Now, Validating: time.Second})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInput(1))
	b := createBatch(t, ctx, c, in.ID, nil)
	res, _ := env.do("DELETE", apiPath("/openai/files/"+in.ID), testKey, nil, nil)
	assert.Equal(t, 409, res.StatusCode)
	clock.Advance(2 * time.Second)
	waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, clock)
	res, _ = env.do("DELETE", apiPath("/openai/files/"+in.ID), testKey, nil, nil)
	assert.Equal(t, 200, res.StatusCode)
}

func TestCancelWhileValidating(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	env := startEnv(t, Config{Now: clock.Now, Validating: time.Minute, CancelDelay: time.Second})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInput(3))
	b := createBatch(t, ctx, c, in.ID, nil)
	_, err := c.Batches.Cancel(ctx, b.ID)
	require.NoError(t, err)
	// A second cancel while cancelling is accepted and changes nothing.
	again, err := c.Batches.Cancel(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, openai.BatchStatusCancelling, again.Status)

	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCancelled, clock)
	assert.Equal(t, openai.BatchRequestCounts{Total: 3, Failed: 3}, stripCounts(done.RequestCounts))
	assert.False(t, done.JSON.OutputFileID.Valid(), "nothing ran: no output file")
	errLines := parseLines(t, content(t, ctx, c, done.ErrorFileID))
	assert.Equal(t, rowIDs(0, 1, 2), customIDs(errLines))
}

func TestForcedScenario(t *testing.T) {
	ctx := context.Background()
	env := startEnv(t, Config{ForceScenario: "line_errors"})
	c := env.client(testKey)
	in := uploadInput(t, ctx, c, makeInput(3))
	b := createBatch(t, ctx, c, in.ID, map[string]string{MetadataScenarioKey: "default"})
	done := waitStatus(t, ctx, c, b.ID, openai.BatchStatusCompleted, nil)
	assert.Equal(t, int64(1), done.RequestCounts.Failed)

	_, err := New(ctx, Config{APIKey: "k", DataDir: t.TempDir(), ForceScenario: "nope"})
	assert.ErrorContains(t, err, "unknown scenario")
}
