package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Scenario selection, strongest first: the forced scenario (--scenario), the
// batch metadata key sim_scenario, the deployment name (body.model of the
// input lines) of the form "sim-<scenario>" or "<anything>.sim-<scenario>",
// and finally the default scenario. The choice is stored with the batch and
// the file, so restarts keep it.

// deploymentPrefix marks a deployment name that selects a scenario.
const deploymentPrefix = "sim-"

// deploymentScenario extracts the scenario a deployment name selects; ok is
// false if the name is not of the selecting form.
func deploymentScenario(model string) (name string, ok bool) {
	if rest, found := strings.CutPrefix(model, deploymentPrefix); found {
		return rest, true
	}
	if i := strings.LastIndex(model, "."+deploymentPrefix); i >= 0 {
		return model[i+len("."+deploymentPrefix):], true
	}
	return "", false
}

// scenarioNamed returns the scenario governing an object whose stored choice
// is name: the forced one if any, else name, else (unknown, e.g. after a
// restart without an extra scenario) the default.
func (s *Server) scenarioNamed(name string) Scenario {
	if s.cfg.ForceScenario != "" {
		name = s.cfg.ForceScenario
	}
	if sc, ok := s.scenarios[name]; ok {
		return sc
	}
	return s.scenarios[DefaultScenario]
}

// globalScenario governs calls tied to no object (lists): only a forced
// scenario applies.
func (s *Server) globalScenario() Scenario { return s.scenarioNamed("") }

// scenarioFor returns the scenario governing a batch.
func (s *Server) scenarioFor(b *batchRecord) Scenario { return s.scenarioNamed(b.Scenario) }

// fileScenario is the scenario for calls on a file: the producing batch's for
// output files, otherwise the one chosen at upload.
func (s *Server) fileScenario(fileID string) Scenario {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	if !ok {
		return s.globalScenario()
	}
	if b, ok := s.batches[f.BatchID]; ok {
		return s.scenarioFor(b)
	}
	return s.scenarioNamed(f.Scenario)
}

// uploadScenario chooses the scenario of an upload from the deployment its
// first parseable line names. An unknown name selects the default here; the
// batch created from the file is refused with 400 instead.
func (s *Server) uploadScenario(model string) string {
	if s.cfg.ForceScenario != "" {
		return s.cfg.ForceScenario
	}
	if name, ok := deploymentScenario(model); ok {
		if _, known := s.scenarios[name]; known {
			return name
		}
		s.log.Warn("upload names an unknown scenario", "deployment", model, "scenario", name)
	}
	return DefaultScenario
}

// selectionError is a scenario choice the batch create request must be
// refused for.
type selectionError struct {
	message, param string
}

// batchScenarioChoice chooses the scenario of a new batch. model is the
// deployment of its input file ("" if unknown).
func (s *Server) batchScenarioChoice(metadata map[string]string, model string) (string, *selectionError) {
	if s.cfg.ForceScenario != "" {
		return s.cfg.ForceScenario, nil
	}
	if name := metadata[MetadataScenarioKey]; name != "" {
		if _, ok := s.scenarios[name]; !ok {
			return "", &selectionError{
				message: fmt.Sprintf("Unknown simulator scenario %q (known: %s).", name, strings.Join(s.ScenarioNames(), ", ")),
				param:   "metadata." + MetadataScenarioKey,
			}
		}
		return name, nil
	}
	if name, ok := deploymentScenario(model); ok {
		if _, known := s.scenarios[name]; !known {
			return "", &selectionError{
				message: fmt.Sprintf("Unknown simulator scenario %q selected by deployment %q (body.model of the input file; known: %s).",
					name, model, strings.Join(s.ScenarioNames(), ", ")),
				param: "input_file_id",
			}
		}
		return name, nil
	}
	return DefaultScenario, nil
}

// maxModelScanLines bounds the search for the first parseable line.
const maxModelScanLines = 1000

// firstModel returns body.model of the first line (among the first
// maxModelScanLines) that is a JSON object with a non-empty body.model.
func firstModel(r io.Reader) (string, error) {
	var model string
	err := forEachReaderLine(r, func(n int, line []byte) error {
		if n > maxModelScanLines {
			return errStop
		}
		var l struct {
			Body struct {
				Model string `json:"model"`
			} `json:"body"`
		}
		if json.Unmarshal(line, &l) == nil && l.Body.Model != "" {
			model = l.Body.Model
			return errStop
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("find deployment name: %w", err)
	}
	return model, nil
}
