package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/batchledger/batchledger/activities"
	"github.com/batchledger/batchledger/models"
	"github.com/batchledger/batchledger/workflows"
)

func cmdResults(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("results", flag.ContinueOnError)
	outFile := fs.String("o", "", "write the results JSONL to this file ('-' for stdout)")
	runID, err := parseRunArgs(fs, args)
	if err != nil {
		return err
	}
	if runID == "" || *outFile == "" {
		return errors.New("results: usage: starter results RUN_ID -o FILE")
	}
	d, err := newDeps(log)
	if err != nil {
		return err
	}
	defer d.close()
	run, err := loadRun(ctx, d, runID)
	if err != nil {
		return err
	}
	if run.ResultsHash == "" {
		return fmt.Errorf("run %s has no results yet (batch status %q)", runID, run.BatchStatus)
	}
	res := workflows.BatchRunResult{RunID: runID, Rows: run.Rows, Results: models.Ref{SHA256: run.ResultsHash, Size: run.ResultsSize}}
	data, err := resultsBytes(ctx, d, res)
	if err != nil {
		return err
	}
	if *outFile == "-" {
		_, err = out.Write(data)
		return err
	}
	if err := os.WriteFile(*outFile, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *outFile, err)
	}
	fmt.Fprintf(out, "wrote %s: %d rows, %d bytes, sha256 %s (verified)\n", *outFile, res.Rows, len(data), res.Results.SHA256)
	return nil
}

// loadRun reads the run's row; results live there too, so a cancelled or
// timed-out run's partial results can be read like a completed run's.
func loadRun(ctx context.Context, d *deps, runID string) (models.Run, error) {
	db, err := d.database(ctx)
	if err != nil {
		return models.Run{}, err
	}
	var run models.Run
	if err := db.WithContext(ctx).Where("run_id = ?", runID).Limit(1).Find(&run).Error; err != nil {
		return run, fmt.Errorf("run %s: %w", runID, err)
	}
	if run.RunID == "" {
		return run, fmt.Errorf("run %s: not found in table runs", runID)
	}
	return run, nil
}

// resultsBytes reads the results JSONL; the store verifies its hash.
func resultsBytes(ctx context.Context, d *deps, res workflows.BatchRunResult) ([]byte, error) {
	store, err := d.blobs(ctx)
	if err != nil {
		return nil, err
	}
	data, err := store.Get(ctx, res.Results)
	if err != nil {
		return nil, fmt.Errorf("results of %s: %w", res.RunID, err)
	}
	return data, nil
}

// report prints the run's summary, a results table and the audit summary.
func report(ctx context.Context, d *deps, res workflows.BatchRunResult, out io.Writer, ui string) error {
	fmt.Fprintf(out, "\nrun %s: batch %s %s, %d rows, %d submitted\n", res.RunID, res.BatchID, res.BatchStatus, res.Rows, res.Submitted)
	outcomes := make([]string, 0, len(res.Counts))
	for k := range res.Counts {
		outcomes = append(outcomes, k)
	}
	sort.Strings(outcomes)
	for _, k := range outcomes {
		fmt.Fprintf(out, "  %-26s %d\n", k, res.Counts[k])
	}
	if res.Anomalies > 0 {
		fmt.Fprintf(out, "  %-26s %d (lines Azure sent that match no row; see table anomalies)\n", "anomalies", res.Anomalies)
	}
	data, err := resultsBytes(ctx, d, res)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nresults:")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tOUTCOME\tTOKENS\tTEXT")
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	shown := 0
	for sc.Scan() && shown < 50 {
		var l activities.ResultLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("results line: %w", err)
		}
		text, tokens := l.Message, ""
		if l.Response != nil {
			if l.Response.Content != nil {
				text = *l.Response.Content
			}
			if u := l.Response.Usage; u != nil && u.TotalTokens != nil {
				tokens = fmt.Sprint(*u.TotalTokens)
			}
		} else if l.Error != nil && l.Error.Message != nil {
			text = *l.Error.Message
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", l.Row, l.Outcome, tokens, clip(text, 70))
		shown++
	}
	_ = tw.Flush()
	if res.Rows > shown {
		fmt.Fprintf(out, "  ... %d more rows\n", res.Rows-shown)
	}
	if err := auditSummary(ctx, d, res.RunID, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nresults: blob %s (%d bytes); save with: starter results %s -o results.jsonl\nweb UI:  %s\n",
		res.Results.BlobName(), res.Results.Size, res.RunID, ui)
	return nil
}

func auditSummary(ctx context.Context, d *deps, runID string, out io.Writer) error {
	db, err := d.database(ctx)
	if err != nil {
		return err
	}
	var ops []struct {
		Operation string
		N         int
		Failed    int
	}
	if err := db.WithContext(ctx).Raw(`SELECT operation, count(*) AS n, count(*) FILTER (WHERE error_json IS NOT NULL) AS failed
		FROM calls WHERE run_id = ? GROUP BY operation ORDER BY min(id)`, runID).Scan(&ops).Error; err != nil {
		return fmt.Errorf("audit summary: %w", err)
	}
	var blobs struct {
		N     int
		Bytes int64
	}
	if err := db.WithContext(ctx).Raw(`SELECT count(*) AS n, coalesce(sum(size),0) AS bytes FROM (
		SELECT request_hash AS h, max(request_size) AS size FROM calls WHERE run_id = ? GROUP BY 1
		UNION SELECT response_hash, max(response_size) FROM calls WHERE run_id = ? AND response_hash IS NOT NULL GROUP BY 1) b`,
		runID, runID).Scan(&blobs).Error; err != nil {
		return fmt.Errorf("audit summary: %w", err)
	}
	total := 0
	fmt.Fprintln(out, "\naudit trail (table calls):")
	for _, o := range ops {
		fmt.Fprintf(out, "  %-22s %3d", o.Operation, o.N)
		if o.Failed > 0 {
			fmt.Fprintf(out, "  (%d failed)", o.Failed)
		}
		fmt.Fprintln(out)
		total += o.N
	}
	fmt.Fprintf(out, "  %d calls, %d distinct blobs, %d bytes\n", total, blobs.N, blobs.Bytes)
	return nil
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
