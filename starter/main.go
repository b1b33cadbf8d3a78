// Command starter starts BatchRun workflows and reads their results.
//
//	starter run --input FILE --template FILE [flags] [--wait]
//	starter results RUN_ID -o FILE
//	starter explain RUN_ID --row N
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
  starter run --input FILE --template FILE [--system-prompt-file FILE] [--deployment NAME]
              [--temperature T] [--max-tokens N] [--poll-interval 60s] [--max-wait 25h]
              [--heartbeat-timeout 30s] [--run-id ID] [--wait]
  starter results RUN_ID -o FILE
  starter explain RUN_ID (--row N | --custom-id ID)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := dispatch(ctx, os.Args[1:], os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		return fmt.Errorf("missing command\n%s", usage)
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], out, log)
	case "results":
		return cmdResults(ctx, args[1:], out, log)
	case "explain":
		return cmdExplain(ctx, args[1:], out, log)
	case "-h", "--help", "help":
		fmt.Fprint(out, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
