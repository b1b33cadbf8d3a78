package simulator

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// azureError is the error envelope Azure OpenAI answers with.
type azureError struct {
	Error azureErrorBody `json:"error"`
}

type azureErrorBody struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Type    string  `json:"type"`
}

// serviceErrorBody is Azure's shape for 401, 429 and 5xx answers of the
// gateway, which carry only code and message.
type serviceErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

const unauthorizedMessage = "Access denied due to invalid subscription key or wrong API endpoint. " +
	"Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		// Only our own types are encoded, so this is a programming error.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"code":"internalFailure","message":"encode response failed"}}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeError(w http.ResponseWriter, status int, code, message string, param *string) {
	writeJSON(w, status, azureError{Error: azureErrorBody{
		Code:    code,
		Message: message,
		Param:   param,
		Type:    "invalid_request_error",
	}})
}

func writeUnauthorized(w http.ResponseWriter) {
	writeServiceError(w, http.StatusUnauthorized, "401", unauthorizedMessage)
}

// writeServiceError answers the gateway's shape for throttling, outages and
// auth failures: code and message only.
func writeServiceError(w http.ResponseWriter, status int, code, message string) {
	var body serviceErrorBody
	body.Error.Code = code
	body.Error.Message = message
	writeJSON(w, status, body)
}

func writeNotFound(w http.ResponseWriter, what, id string) {
	writeError(w, http.StatusNotFound, "notFound", what+" "+id+" not found.", nil)
}

func writeInternal(w http.ResponseWriter, log *slog.Logger, op string, err error) {
	log.Error(op, "err", err)
	writeError(w, http.StatusInternalServerError, "internalFailure", "Internal error. Please retry.", nil)
}

func strPtr(s string) *string { return &s }
