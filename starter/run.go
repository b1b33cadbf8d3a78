package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/batchledger/batchledger/activities"
	"github.com/batchledger/batchledger/config"
	"github.com/batchledger/batchledger/render"
	"github.com/batchledger/batchledger/workflows"
)

func cmdRun(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	input := fs.String("input", "", "rows file (.csv with a header row, or .jsonl)")
	format := fs.String("format", "", "csv or jsonl (default: from the input's extension)")
	tmpl := fs.String("template", "", "prompt template file (Go text/template)")
	sysFile := fs.String("system-prompt-file", "", "system prompt file (optional)")
	deployment := fs.String("deployment", cfg.Deployment, "Azure OpenAI deployment (body.model)")
	temperature := fs.String("temperature", "", "sampling temperature (optional)")
	maxTokens := fs.String("max-tokens", "", "max_tokens (optional)")
	pollInterval := fs.Duration("poll-interval", workflows.DefaultPollInterval, "how often to poll the batch")
	maxWait := fs.Duration("max-wait", workflows.DefaultMaxWait, "longest wait for the batch")
	heartbeat := fs.Duration("heartbeat-timeout", workflows.DefaultHeartbeatTimeout, "how soon a dead worker's activity is retried elsewhere")
	runID := fs.String("run-id", "", "workflow id (default: batchrun-<time>-<random>)")
	wait := fs.Bool("wait", false, "wait for the run, show progress and a summary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *input == "" || *tmpl == "" {
		return errors.New("run: --input and --template are required")
	}
	params := activities.ModelParams{Deployment: *deployment}
	if *temperature != "" {
		t, err := strconv.ParseFloat(*temperature, 64)
		if err != nil {
			return fmt.Errorf("--temperature %q: %w", *temperature, err)
		}
		params.Temperature = &t
	}
	if *maxTokens != "" {
		n, err := strconv.ParseInt(*maxTokens, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("--max-tokens %q: not a positive integer", *maxTokens)
		}
		params.MaxTokens = &n
	}

	inputBytes, err := os.ReadFile(*input)
	if err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	tmplBytes, err := os.ReadFile(*tmpl)
	if err != nil {
		return fmt.Errorf("read template: %w", err)
	}
	var sysBytes []byte
	if *sysFile != "" {
		if sysBytes, err = os.ReadFile(*sysFile); err != nil {
			return fmt.Errorf("read system prompt: %w", err)
		}
	}
	// Check locally first so that bad input fails before anything is started.
	f := render.Format(*format)
	if f == "" {
		if f, err = render.DetectFormat(*input); err != nil {
			return err
		}
	}
	parsed, err := render.ParseInput(filepath.Base(*input), inputBytes, f)
	if err != nil {
		return err
	}
	if err := render.Check(string(tmplBytes), filepath.Base(*tmpl), parsed.Columns); err != nil {
		return err
	}

	d := &deps{cfg: cfg, log: log}
	defer d.close()
	store, err := d.blobs(ctx)
	if err != nil {
		return err
	}
	in := workflows.BatchRunInput{
		Format: string(f), Params: params,
		PollInterval: pollInterval.String(), MaxWait: maxWait.String(), HeartbeatTimeout: heartbeat.String(),
	}
	// Inputs go to the content-addressed store; the workflow gets their names only.
	put := func(data []byte, path string) (activities.Source, error) {
		ref, err := store.Put(ctx, data)
		if err != nil {
			return activities.Source{}, err
		}
		fmt.Fprintf(out, "uploaded %-28s %s (%d bytes)\n", filepath.Base(path), ref.BlobName(), ref.Size)
		return activities.Source{Blob: ref.BlobName(), Name: filepath.Base(path)}, nil
	}
	if in.Input, err = put(inputBytes, *input); err != nil {
		return err
	}
	if in.Template, err = put(tmplBytes, *tmpl); err != nil {
		return err
	}
	if sysBytes != nil {
		s, err := put(sysBytes, *sysFile)
		if err != nil {
			return err
		}
		in.SystemPrompt = &s
	}

	tc, err := d.temporal()
	if err != nil {
		return err
	}
	id := *runID
	if id == "" {
		id = newRunID()
	}
	we, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: cfg.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.BatchRun, in)
	if err != nil {
		return fmt.Errorf("start workflow %s: %w", id, err)
	}
	fmt.Fprintf(out, "started run %s (%d rows)\n  web UI: %s\n", id, len(parsed.Rows), webURL(cfg, we.GetID(), we.GetRunID()))
	if !*wait {
		return nil
	}
	res, err := waitWithProgress(ctx, tc, we, out)
	if err != nil {
		return err
	}
	return report(ctx, d, res, out, webURL(cfg, we.GetID(), we.GetRunID()))
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "batchrun-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func webURL(cfg config.Config, workflowID, runID string) string {
	ui := os.Getenv("TEMPORAL_UI")
	if ui == "" {
		ui = "http://127.0.0.1:8233"
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", ui, cfg.TemporalNamespace, workflowID, runID)
}

// waitWithProgress prints each change of the run's stage until it closes.
func waitWithProgress(ctx context.Context, tc client.Client, we client.WorkflowRun, out io.Writer) (workflows.BatchRunResult, error) {
	done := make(chan error, 1)
	var res workflows.BatchRunResult
	go func() { done <- we.Get(ctx, &res) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start, last := time.Now(), ""
	for {
		select {
		case err := <-done:
			if err != nil {
				return res, fmt.Errorf("run %s failed: %w", we.GetID(), err)
			}
			fmt.Fprintf(out, "[%5.1fs] done\n", time.Since(start).Seconds())
			return res, nil
		case <-tick.C:
			line := describe(ctx, tc, we.GetID(), we.GetRunID())
			if line != "" && line != last {
				fmt.Fprintf(out, "[%5.1fs] %s\n", time.Since(start).Seconds(), line)
				last = line
			}
		}
	}
}

// describe asks the workflow's progress query for the run's stage and the
// batch's status and request counts.
func describe(ctx context.Context, tc client.Client, id, runID string) string {
	v, err := tc.QueryWorkflow(ctx, id, runID, workflows.ProgressQuery)
	if err != nil {
		return ""
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		return ""
	}
	s := fmt.Sprintf("%s: %d rows, %d submitted", p.Stage, p.Rows, p.Submitted)
	if p.BatchID != "" {
		s += fmt.Sprintf("; batch %s", p.BatchID)
	}
	if p.BatchStatus != "" {
		s += " " + p.BatchStatus
	}
	if c := p.RequestCounts; c != nil {
		s += fmt.Sprintf(" (%d/%d done, %d failed)", c.Completed, c.Total, c.Failed)
	}
	return s
}
