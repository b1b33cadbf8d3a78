// Package outcome reads the output and error files of an Azure OpenAI batch
// and gives every submitted row exactly one outcome.
//
// Azure's files are untrusted input: ParseFile never panics and never
// guesses. Each non-blank line becomes a Line that records its exact byte
// range and SHA-256 and its classification; a line that does not have the
// documented shape gets Outcome InvalidResponse and a Problem saying why.
// Fields absent (or null) in the data stay nil; nothing is defaulted.
//
// # Classifying one line (ParseFile)
//
//   - response: response.status_code is 2xx, choices[0] is present and its
//     message.content is a string (finish_reason is not "content_filter").
//   - content_filtered: a 2xx response whose choices[0].finish_reason is
//     "content_filter"; or whose message.content is null/absent while some
//     "filtered": true appears anywhere in the body (content_filter_results,
//     prompt_filter_results); or a non-2xx response (or top-level error)
//     whose error code is "content_filter".
//   - api_error: a non-2xx response.status_code (Error from body.error, which
//     may be absent), or a top-level error object with any other code.
//   - batch_expired / batch_cancelled: a top-level error with code
//     "batch_expired" / "batch_cancelled" (lines Azure never ran).
//   - invalid_response: anything else, with Problem set: not JSON, not an
//     object, a duplicate key, missing custom_id, both or neither of
//     response and error, choices missing or empty, a field of the wrong
//     JSON type, a 2xx message whose content is null without a filter, ...
//     CustomID is kept when it could be read.
//
// # Assigning outcomes to rows (Assign)
//
//   - Exactly one Assignment per submitted row, in the order submitted.
//   - Lines are matched to rows by custom_id. The output file is read before
//     the error file, each in line order; the first line for a custom_id
//     decides the row's outcome (that line's Outcome, invalid_response
//     included). Later lines with the same custom_id are Anomalies
//     ("duplicate custom_id").
//   - Lines whose custom_id was never submitted, and lines with no readable
//     custom_id, are Anomalies; they are never assigned to a row.
//   - A row with no line gets its outcome from the batch status:
//     failed → batch_failed; expired → batch_expired; cancelled →
//     batch_cancelled, or batch_timeout when we cancelled it ourselves
//     (BatchInfo.TimedOut); completed → error_details_unavailable when the
//     error file is missing while request_counts.failed > 0, otherwise
//     result_not_found. Its Assignment.Message says so in words.
//   - Any other batch status is an error: outcomes are only final once the
//     batch is.
package outcome
