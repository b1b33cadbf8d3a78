package audit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/openai/openai-go/v3/option"
)

// Redacted replaces secret header and query values in recorded messages.
const Redacted = "[REDACTED]"

// secretHeaders are never stored; compared in canonical form.
var secretHeaders = map[string]bool{
	"Api-Key":                   true,
	"Authorization":             true,
	"Ocp-Apim-Subscription-Key": true,
	"Proxy-Authorization":       true,
	"Cookie":                    true,
	"Set-Cookie":                true,
	"X-Api-Key":                 true,
}

// secretQuery are query parameters that can carry credentials (SAS signatures, keys).
var secretQuery = map[string]bool{"api-key": true, "sig": true, "code": true, "key": true, "token": true}

// RedactURL returns u with credential-bearing query values replaced.
func RedactURL(u *url.URL) string {
	c := *u
	c.User = nil
	q := c.Query()
	changed := false
	for k := range q {
		if secretQuery[strings.ToLower(k)] {
			q[k] = []string{Redacted}
			changed = true
		}
	}
	if changed {
		c.RawQuery = q.Encode()
	}
	return c.String()
}

func writeHeaders(buf *bytes.Buffer, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ck := http.CanonicalHeaderKey(k)
		for _, v := range h[k] {
			if secretHeaders[ck] {
				v = Redacted
			}
			fmt.Fprintf(buf, "%s: %s\r\n", ck, v)
		}
	}
}

// EncodeRequest renders a request as an HTTP/1.1 message with secrets
// redacted and the body's exact bytes; it returns the body's offset.
func EncodeRequest(req *http.Request, body []byte) ([]byte, int64) {
	var buf bytes.Buffer
	u := *req.URL
	target := RedactURL(&u)
	if pu, err := url.Parse(target); err == nil {
		target = pu.RequestURI()
	}
	fmt.Fprintf(&buf, "%s %s HTTP/1.1\r\n", req.Method, target)
	h := req.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Host", req.URL.Host)
	if len(body) > 0 && h.Get("Content-Length") == "" {
		h.Set("Content-Length", fmt.Sprint(len(body)))
	}
	writeHeaders(&buf, h)
	buf.WriteString("\r\n")
	off := int64(buf.Len())
	buf.Write(body)
	return buf.Bytes(), off
}

// EncodeResponse renders a response as an HTTP/1.1 message with the body's
// exact bytes as the client received them; it returns the body's offset.
func EncodeResponse(resp *http.Response, body []byte) ([]byte, int64) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "HTTP/1.1 %s\r\n", resp.Status)
	writeHeaders(&buf, resp.Header)
	buf.WriteString("\r\n")
	off := int64(buf.Len())
	buf.Write(body)
	return buf.Bytes(), off
}

// recordTimeout bounds how long recording may outlive a cancelled call.
const recordTimeout = time.Minute

// Middleware records every HTTP attempt the openai-go client makes (its own
// retries included: the SDK calls middleware once per attempt). A call is
// returned to the SDK only after it is recorded; if recording fails the call
// fails, so nothing continues unrecorded.
func (r *Recorder) Middleware() option.Middleware {
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		ctx := req.Context()
		if ScopeFrom(ctx) == nil {
			return nil, fmt.Errorf("%s %s refused: no audit scope, the call would go unrecorded", req.Method, req.URL.Path)
		}
		op := operationFrom(ctx)
		if op == "" {
			op = strings.ToLower(req.Method) + " " + req.URL.Path
		}
		var reqBody []byte
		if req.Body != nil && req.Body != http.NoBody {
			b, err := io.ReadAll(req.Body)
			_ = req.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: read request body: %w", op, err)
			}
			reqBody = b
			req.Body = io.NopCloser(bytes.NewReader(reqBody))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
			req.ContentLength = int64(len(reqBody))
		}
		reqMsg, reqOff := EncodeRequest(req, reqBody)

		start := time.Now()
		resp, callErr := next(req)
		ex := Exchange{
			Operation: op, Method: req.Method, URL: RedactURL(req.URL),
			Request: reqMsg, RequestBodyOffset: reqOff, Err: callErr,
		}
		if resp != nil {
			body, readErr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			ex.Status = resp.StatusCode
			ex.Response, ex.ResponseBodyOffset = EncodeResponse(resp, body)
			if readErr != nil {
				// A body cut off mid-way is recorded as far as it came, with the error.
				ex.Err = fmt.Errorf("read response body: %w", readErr)
				callErr = ex.Err
			}
		}
		ex.Latency = time.Since(start)
		// The exchange happened even if the caller gave up meanwhile: record it regardless.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		defer cancel()
		if _, err := r.Record(rctx, ex); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if callErr != nil {
			return nil, callErr
		}
		return resp, nil
	}
}
