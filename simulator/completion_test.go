package simulator

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func encodeLine(t *testing.T, l outputLine) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(l))
	return b.String()
}

// TestSuccessLineShape pins the key order and shape of Azure's documented
// chat completion output line.
func TestSuccessLineShape(t *testing.T) {
	raw := []byte(line("task-0"))
	req, lerr := parseLine(raw, "/chat/completions")
	require.Nil(t, lerr)
	got := encodeLine(t, successLine(req))
	sum := lineDigest("task-0", raw)
	want := `{"custom_id":"task-0","response":{"body":{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"Simulated answer: x","refusal":null,"role":"assistant"}}],` +
		`"created":` + jsonNum(successLine(req).Response.(successResponse).Body.Created) +
		`,"id":"chatcmpl-` + hex.EncodeToString(sum[16:28]) + `","model":"` + simModel + `","object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}],"system_fingerprint":"fp_sim","usage":{"completion_tokens":3,"prompt_tokens":1,"total_tokens":4}},` +
		`"request_id":"` + digestUUID(sum) + `","status_code":200},"error":null}` + "\n"
	assert.Equal(t, want, got)
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestFailureAndCancelledLineShape(t *testing.T) {
	raw := []byte(line("r"))
	req, _ := parseLine(raw, "/chat/completions")
	got := encodeLine(t, failureLine(req, LineFailure{StatusCode: 400, Code: "invalid_request", Message: "Simulated per-line failure."}))
	assert.Equal(t, `{"custom_id":"r","response":{"status_code":400,"request_id":"`+digestUUID(lineDigest("r", raw))+
		`","body":{"error":{"code":"invalid_request","message":"Simulated per-line failure."}}},"error":null}`+"\n", got)

	assert.Equal(t, `{"custom_id":"r","response":null,"error":{"code":"batch_cancelled","message":"This line was not executed because the batch was cancelled."}}`+"\n",
		encodeLine(t, cancelledLine("r")))
}

func TestAnswerText(t *testing.T) {
	long := strings.Repeat("é", 250)
	msgs := []chatMessage{
		{Role: "user", Content: json.RawMessage(`"first"`)},
		{Role: "assistant", Content: json.RawMessage(`"ignored"`)},
		{Role: "user", Content: json.RawMessage(`[{"type":"text","text":"` + long + `"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"tail"}]`)},
	}
	text := lastUserText(msgs)
	assert.Equal(t, long+" tail", text)
	assert.Equal(t, 200, len([]rune(truncateRunes(text, 200))))
	assert.Equal(t, "", lastUserText(msgs[1:2]))
	assert.Equal(t, 3, countWords(" a  b\tc\n"))
}
