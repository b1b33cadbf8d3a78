package main

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseRunArgsTakesTheRunIDBeforeOrAfterFlags(t *testing.T) {
	for _, args := range [][]string{{"run-1", "-o", "f"}, {"-o", "f", "run-1"}} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		o := fs.String("o", "", "")
		id, err := parseRunArgs(fs, args)
		require.NoError(t, err)
		require.Equal(t, "run-1", id)
		require.Equal(t, "f", *o)
	}
}

func TestCommandsExplainTheirUsage(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out bytes.Buffer
	require.ErrorContains(t, dispatch(t.Context(), nil, &out, log), "missing command")
	require.ErrorContains(t, dispatch(t.Context(), []string{"frobnicate"}, &out, log), `unknown command "frobnicate"`)
	require.ErrorContains(t, dispatch(t.Context(), []string{"run", "--input", "x.csv"}, &out, log), "--input and --template are required")
	require.ErrorContains(t, dispatch(t.Context(), []string{"results", "run-1"}, &out, log), "usage: starter results RUN_ID -o FILE")
	require.ErrorContains(t, dispatch(t.Context(), []string{"explain", "run-1"}, &out, log), "--row N | --custom-id ID")
	require.ErrorContains(t, dispatch(t.Context(), []string{"run", "--input", "missing.csv", "--template", "t"}, &out, log), "missing.csv")
	require.NoError(t, dispatch(t.Context(), []string{"help"}, &out, log))
	require.Contains(t, out.String(), "starter explain RUN_ID")
	require.Equal(t, "a b…", clip("a\n  b  c d", 4))
}
