package simulator

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// simModel is the model name answered in completions. Like Azure, it is the
// underlying model, not the deployment name the request used.
const simModel = "gpt-4o-2024-08-06"

const maxAnswerRunes = 200

// Output line shapes, fields in the order Azure writes them.
type outputLine struct {
	CustomID string     `json:"custom_id"`
	Response any        `json:"response"`
	Error    *lineErrOb `json:"error"`
}

type lineErrOb struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type successResponse struct {
	Body       chatCompletion `json:"body"`
	RequestID  string         `json:"request_id"`
	StatusCode int            `json:"status_code"`
}

type failureResponse struct {
	StatusCode int         `json:"status_code"`
	RequestID  string      `json:"request_id"`
	Body       failureBody `json:"body"`
}

type failureBody struct {
	Error lineAPIError `json:"error"`
}

// lineAPIError is the error object of a failed line's response body.
type lineAPIError struct {
	Code       string          `json:"code"`
	Message    string          `json:"message"`
	Param      string          `json:"param,omitempty"`
	InnerError json.RawMessage `json:"innererror,omitempty"`
}

type chatCompletion struct {
	Choices             []choice             `json:"choices"`
	Created             int64                `json:"created"`
	ID                  string               `json:"id"`
	Model               string               `json:"model"`
	Object              string               `json:"object"`
	PromptFilterResults []promptFilterResult `json:"prompt_filter_results"`
	SystemFingerprint   string               `json:"system_fingerprint"`
	Usage               usage                `json:"usage"`
}

type choice struct {
	ContentFilterResults contentFilter `json:"content_filter_results"`
	FinishReason         string        `json:"finish_reason"`
	Index                int           `json:"index"`
	Logprobs             *struct{}     `json:"logprobs"`
	Message              answerMessage `json:"message"`
}

type answerMessage struct {
	Content *string `json:"content"`
	Refusal *string `json:"refusal"`
	Role    string  `json:"role"`
}

type severity struct {
	Filtered bool   `json:"filtered"`
	Severity string `json:"severity"`
}

type detection struct {
	Filtered bool `json:"filtered"`
	Detected bool `json:"detected"`
}

type contentFilter struct {
	Hate     severity `json:"hate"`
	SelfHarm severity `json:"self_harm"`
	Sexual   severity `json:"sexual"`
	Violence severity `json:"violence"`
}

type promptFilter struct {
	Hate      severity  `json:"hate"`
	Jailbreak detection `json:"jailbreak"`
	SelfHarm  severity  `json:"self_harm"`
	Sexual    severity  `json:"sexual"`
	Violence  severity  `json:"violence"`
}

type promptFilterResult struct {
	PromptIndex          int          `json:"prompt_index"`
	ContentFilterResults promptFilter `json:"content_filter_results"`
}

type usage struct {
	CompletionTokens int `json:"completion_tokens"`
	PromptTokens     int `json:"prompt_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

var safe = severity{Filtered: false, Severity: "safe"}

var filteredHigh = severity{Filtered: true, Severity: "high"}

// lineDigest identifies a request by its content only (custom_id and the
// exact line bytes), so the same input yields the same ids in any batch.
func lineDigest(customID string, raw []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(customID))
	h.Write([]byte{0})
	h.Write(raw)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// successLine builds the deterministic fake completion for one request.
func successLine(req requestLine) outputLine {
	sum := lineDigest(req.CustomID, req.Raw)
	answer := "Simulated answer: " + truncateRunes(lastUserText(req.Messages), maxAnswerRunes)
	prompt := 0
	for _, m := range req.Messages {
		prompt += countWords(messageText(m.Content))
	}
	completion := countWords(answer)
	return outputLine{
		CustomID: req.CustomID,
		Response: successResponse{
			Body: chatCompletion{
				Choices: []choice{{
					ContentFilterResults: contentFilter{Hate: safe, SelfHarm: safe, Sexual: safe, Violence: safe},
					FinishReason:         "stop",
					Index:                0,
					Message:              answerMessage{Content: &answer, Role: "assistant"},
				}},
				// A fixed epoch plus a digest-derived offset: plausible, never wall-clock.
				Created: 1_700_000_000 + int64(binary.BigEndian.Uint32(sum[28:])%10_000_000),
				ID:      "chatcmpl-" + hex.EncodeToString(sum[16:28]),
				Model:   simModel,
				Object:  "chat.completion",
				PromptFilterResults: []promptFilterResult{{
					PromptIndex: 0,
					ContentFilterResults: promptFilter{
						Hate: safe, Jailbreak: detection{}, SelfHarm: safe, Sexual: safe, Violence: safe,
					},
				}},
				SystemFingerprint: "fp_sim",
				Usage:             usage{CompletionTokens: completion, PromptTokens: prompt, TotalTokens: prompt + completion},
			},
			RequestID:  digestUUID(sum),
			StatusCode: 200,
		},
	}
}

// filteredLine is the success line of a request whose completion the content
// filter withheld: status 200, content null, finish_reason "content_filter".
func filteredLine(req requestLine) outputLine {
	line := successLine(req)
	res := line.Response.(successResponse)
	c := &res.Body.Choices[0]
	c.ContentFilterResults.Violence = filteredHigh
	c.FinishReason = "content_filter"
	c.Message.Content = nil
	res.Body.Usage.TotalTokens -= res.Body.Usage.CompletionTokens
	res.Body.Usage.CompletionTokens = 0
	line.Response = res
	return line
}

// contentFilterFailure is Azure's per-line 400 for a filtered prompt.
func contentFilterFailure() *LineFailure {
	return &LineFailure{
		StatusCode: 400,
		Code:       "content_filter",
		Message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. " +
			"Please modify your prompt and retry. To learn more about our content filtering policies please read our " +
			"documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
		Param: "prompt",
		InnerError: json.RawMessage(`{"code":"ResponsibleAIPolicyViolation","content_filter_result":{` +
			`"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},` +
			`"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},` +
			`"violence":{"filtered":true,"severity":"high"}}}`),
	}
}

// failureLine reports a per-line API error the way OpenAI does: an error
// response in "response", with "error" null.
func failureLine(req requestLine, f LineFailure) outputLine {
	return outputLine{
		CustomID: req.CustomID,
		Response: failureResponse{
			StatusCode: f.StatusCode,
			RequestID:  digestUUID(lineDigest(req.CustomID, req.Raw)),
			Body: failureBody{Error: lineAPIError{
				Code: f.Code, Message: f.Message, Param: f.Param, InnerError: f.InnerError,
			}},
		},
	}
}

func cancelledLine(customID string) outputLine {
	return outputLine{
		CustomID: customID,
		Error: &lineErrOb{
			Code:    "batch_cancelled",
			Message: "This line was not executed because the batch was cancelled.",
		},
	}
}

func expiredLine(customID string) outputLine {
	return outputLine{
		CustomID: customID,
		Error: &lineErrOb{
			Code:    "batch_expired",
			Message: "This line was not executed because the batch expired before it could be processed.",
		},
	}
}

// lastUserText is the text of the last user message; "" if there is none.
func lastUserText(msgs []chatMessage) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return messageText(msgs[i].Content)
		}
	}
	return ""
}

// messageText reads a message content that is either a string or an array of
// parts; text parts are joined with a space, other parts ignored.
func messageText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	texts := make([]string, 0, len(parts))
	for _, p := range parts {
		if p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, " ")
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n])
}

func countWords(s string) int { return len(strings.Fields(s)) }
