// Package config reads batchledger's settings from the environment, with
// defaults that match the local stack started by scripts/stack.sh.
package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is everything the worker and the starter need to reach their
// services. APIKey is a secret: it must never be logged or stored.
type Config struct {
	AzureEndpoint     string
	APIKey            string
	APIVersion        string
	Deployment        string
	StorageConnection string
	AuditContainer    string
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	// RequestTimeout bounds one HTTP attempt to Azure OpenAI.
	RequestTimeout time.Duration
}

// DevStorageConnection is Azurite's well-known development account; its key is public.
const DevStorageConnection = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"

// FromEnv reads the configuration. It does not check that services answer.
func FromEnv() (Config, error) {
	c := Config{
		AzureEndpoint:     env("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:18090"),
		APIKey:            os.Getenv("AZURE_OPENAI_API_KEY"),
		APIVersion:        env("AZURE_OPENAI_API_VERSION", "2024-10-21"),
		Deployment:        env("AZURE_OPENAI_DEPLOYMENT", "gpt-4o-mini"),
		StorageConnection: env("AZURE_STORAGE_CONNECTION_STRING", DevStorageConnection),
		AuditContainer:    env("AUDIT_CONTAINER", "audit"),
		DatabaseURL:       env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/batchledger?sslmode=disable"),
		TemporalAddress:   env("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace: env("TEMPORAL_NAMESPACE", "default"),
		TaskQueue:         env("TASK_QUEUE", "batchledger"),
		RequestTimeout:    2 * time.Minute,
	}
	if v := os.Getenv("AZURE_OPENAI_REQUEST_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("AZURE_OPENAI_REQUEST_TIMEOUT %q: not a positive duration", v)
		}
		c.RequestTimeout = d
	}
	return c, nil
}

// ValidateAzure reports missing settings needed to call Azure OpenAI.
func (c Config) ValidateAzure() error {
	var missing []string
	if c.AzureEndpoint == "" {
		missing = append(missing, "AZURE_OPENAI_ENDPOINT")
	}
	if c.APIKey == "" {
		missing = append(missing, "AZURE_OPENAI_API_KEY")
	}
	if c.APIVersion == "" {
		missing = append(missing, "AZURE_OPENAI_API_VERSION")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing environment: %s", strings.Join(missing, ", "))
	}
	return nil
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}
