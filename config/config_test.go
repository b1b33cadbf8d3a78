package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFromEnvDefaultsAndOverrides(t *testing.T) {
	for _, k := range []string{"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_API_VERSION", "TASK_QUEUE", "AZURE_OPENAI_REQUEST_TIMEOUT"} {
		t.Setenv(k, "")
	}
	c, err := FromEnv()
	require.NoError(t, err)
	require.Equal(t, "2024-10-21", c.APIVersion)
	require.Equal(t, "batchledger", c.TaskQueue)
	require.Equal(t, 2*time.Minute, c.RequestTimeout)
	require.ErrorContains(t, c.ValidateAzure(), "AZURE_OPENAI_API_KEY")

	t.Setenv("TASK_QUEUE", "other")
	t.Setenv("AZURE_OPENAI_API_KEY", "k")
	t.Setenv("AZURE_OPENAI_REQUEST_TIMEOUT", "5s")
	c, err = FromEnv()
	require.NoError(t, err)
	require.Equal(t, "other", c.TaskQueue)
	require.Equal(t, 5*time.Second, c.RequestTimeout)
	require.NoError(t, c.ValidateAzure())

	t.Setenv("AZURE_OPENAI_REQUEST_TIMEOUT", "soon")
	_, err = FromEnv()
	require.ErrorContains(t, err, "AZURE_OPENAI_REQUEST_TIMEOUT")
}
