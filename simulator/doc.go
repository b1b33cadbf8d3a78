// Package simulator serves a local imitation of the Azure OpenAI Files and
// Batches REST API (api-version 2024-10-21), shaped exactly as the openai-go
// v3 azure client calls it, so batchledger can be exercised end to end without
// the real service.
//
// Batches progress lazily: each read computes the state the batch has reached
// from its stored timestamps and the clock, persists any change, and answers.
// Output is a deterministic function of the input, so identical inputs give
// byte-identical output files. Per-batch behaviour (line outcomes, lifecycle,
// faults) comes from a [Scenario] chosen, strongest first, by the forced
// scenario, the batch metadata key "sim_scenario", or a deployment name
// (body.model) of the form "sim-<scenario>" or "<anything>.sim-<scenario>".
package simulator
