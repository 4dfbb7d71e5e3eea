package main

import (
	"io"

	"github.com/tapstack/tapstack/internal/jsonout"
	"github.com/tapstack/tapstack/internal/lifecycle"
)

// summarySchemaVersion is the version of plan's and deploy's JSON summaries (docs/json.md). A change that
// removes or renames a field raises it.
const summarySchemaVersion = 1

// planSummary is `tapstack plan --format json`.
type planSummary struct {
	SchemaVersion int    `json:"schemaVersion"`
	Command       string `json:"command"`
	*lifecycle.PlanResult
}

// deploySummary is `tapstack deploy --format json`.
type deploySummary struct {
	SchemaVersion int    `json:"schemaVersion"`
	Command       string `json:"command"`
	*lifecycle.DeployResult
}

func checkFormat(f string) error {
	if f != "text" && f != "json" {
		return fail(exitInvalid, "--format: %q is not text or json", f)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error { return jsonout.Write(w, v) }
