// Package azureopenai builds the openai-go client for Azure OpenAI with every
// HTTP attempt routed through the audit recorder.
package azureopenai

import (
	"fmt"
	"net"
	"net/url"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"

	"github.com/batchledger/batchledger/audit"
	"github.com/batchledger/batchledger/config"
)

// Operation names recorded in calls.operation.
const (
	OpFilesCreate     = "files.create"
	OpFilesContent    = "files.content"
	OpFilesList       = "files.list"
	OpBatchesCreate   = "batches.create"
	OpBatchesRetrieve = "batches.retrieve"
	OpBatchesList     = "batches.list"
	OpBatchesCancel   = "batches.cancel"
)

// NewClient returns a client whose every request attempt is recorded by rec.
// Plain HTTP is allowed only for a loopback endpoint (the local simulator).
func NewClient(cfg config.Config, rec *audit.Recorder) (openai.Client, error) {
	if err := cfg.ValidateAzure(); err != nil {
		return openai.Client{}, err
	}
	u, err := url.Parse(cfg.AzureEndpoint)
	if err != nil || u.Host == "" {
		return openai.Client{}, fmt.Errorf("AZURE_OPENAI_ENDPOINT %q is not a URL", cfg.AzureEndpoint)
	}
	opts := []option.RequestOption{
		azure.WithEndpoint(cfg.AzureEndpoint, cfg.APIVersion),
		azure.WithAPIKey(cfg.APIKey),
		option.WithRequestTimeout(cfg.RequestTimeout),
		// Added after WithEndpoint so the recorded URL is the one actually sent.
		option.WithMiddleware(rec.Middleware()),
	}
	if u.Scheme == "http" {
		if !isLoopback(u.Hostname()) {
			return openai.Client{}, fmt.Errorf("AZURE_OPENAI_ENDPOINT %s: plain http is only allowed on loopback", u.Host)
		}
		opts = append(opts, azure.WithUnsafeAllowHTTP())
	}
	return openai.NewClient(opts...), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
