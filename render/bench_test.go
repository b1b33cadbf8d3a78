package render

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParseAndRender100k measures parsing a 100,000-row CSV (Azure's
// per-file request limit) and rendering its batch input file.
// Run: go test ./render -run '^$' -bench . -benchmem
func BenchmarkParseAndRender100k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("id,product,review\n")
	for i := 1; i <= 100_000; i++ {
		fmt.Fprintf(&sb, "%d,Product %d,\"Review %d: fine, but could be better.\"\n", i, i%97, i)
	}
	data := []byte(sb.String())
	p := Params{Template: "Classify review {{.id}} of {{.product}}: {{.review}}", TemplateName: "t.tmpl", Deployment: "gpt-4o-mini"}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		in, err := ParseInput("rows.csv", data, CSV)
		if err != nil {
			b.Fatal(err)
		}
		out, err := Render(in, p)
		if err != nil {
			b.Fatal(err)
		}
		if len(out.Lines) != 100_000 {
			b.Fatalf("rendered %d lines", len(out.Lines))
		}
		b.ReportMetric(float64(len(out.JSONL)), "jsonl-bytes")
	}
}
