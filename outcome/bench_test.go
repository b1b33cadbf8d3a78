package outcome

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkParseAndAssign100k measures parsing a 100,000-line output file
// and assigning every row its outcome.
// Run: go test ./outcome -run '^$' -bench . -benchmem
func BenchmarkParseAndAssign100k(b *testing.B) {
	const n = 100_000
	var buf bytes.Buffer
	submitted := make([]Submitted, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("row-%d", i+1)
		submitted[i] = Submitted{RowIndex: i + 1, CustomID: id}
		fmt.Fprintf(&buf, `{"custom_id":%q,"response":{"status_code":200,"request_id":"r%d","body":{"id":"chatcmpl-%d","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Answer %d"}}],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}}},"error":null}`+"\n", id, i, i, i)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		lines := ParseFile(SourceOutput, data)
		as, anomalies, err := Assign(submitted, BatchInfo{Status: "completed"}, lines, nil)
		if err != nil || len(as) != n || len(anomalies) != 0 {
			b.Fatalf("assign: %v, %d rows, %d anomalies", err, len(as), len(anomalies))
		}
	}
}
