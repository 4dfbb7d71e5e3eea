package engine

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Summary sorts a plan's managed resources by what happens to them, for a person deciding whether to apply it.
type Summary struct {
	Kept      []string       `json:"kept"`
	Updated   []SummaryEntry `json:"changedInPlace"`
	Adopted   []SummaryEntry `json:"adopted"`
	Moved     []SummaryEntry `json:"moved"`
	Created   []string       `json:"created"`
	Replaced  []SummaryEntry `json:"replaced"`
	Deleted   []SummaryEntry `json:"deleted"`
	Forgotten []string       `json:"forgotten"`
}

// SummaryEntry is one resource and what the plan says about it: the attributes that change or force the
// replacement, the ID an import adopts, the address it moves from, or why it is deleted.
type SummaryEntry struct {
	Address string   `json:"address"`
	Detail  []string `json:"detail,omitempty"`
}

// Summarize reads a plan into a Summary, in the plan's (address) order.
func Summarize(p *tfjson.Plan) Summary {
	var s Summary
	if p == nil {
		return s
	}
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a, c := rc.Change.Actions, rc.Change
		if c.Importing != nil {
			e := SummaryEntry{Address: rc.Address, Detail: []string{"import " + c.Importing.ID}}
			if a.Update() {
				e.Detail = append(e.Detail, changedAttributes(c)...)
			}
			s.Adopted = append(s.Adopted, e)
			continue
		}
		if rc.PreviousAddress != "" && rc.PreviousAddress != rc.Address && (a.NoOp() || a.Update()) {
			e := SummaryEntry{Address: rc.Address, Detail: []string{"from " + rc.PreviousAddress}}
			if a.Update() {
				e.Detail = append(e.Detail, changedAttributes(c)...)
			}
			s.Moved = append(s.Moved, e)
			continue
		}
		switch {
		case a.NoOp(), a.Read():
			s.Kept = append(s.Kept, rc.Address)
		case a.Forget():
			s.Forgotten = append(s.Forgotten, rc.Address)
		case a.Create():
			s.Created = append(s.Created, rc.Address)
		case a.Update():
			s.Updated = append(s.Updated, SummaryEntry{Address: rc.Address, Detail: changedAttributes(c)})
		case a.Delete():
			e := SummaryEntry{Address: rc.Address}
			if r := reasonText[rc.ActionReason]; r != "" {
				e.Detail = []string{r}
			}
			s.Deleted = append(s.Deleted, e)
		case a.Replace():
			e := SummaryEntry{Address: rc.Address}
			var forced []string
			for _, p := range c.ReplacePaths {
				forced = append(forced, FormatPath(p))
			}
			if len(forced) > 0 {
				e.Detail = []string{"forced by " + strings.Join(forced, ", ")}
			} else if r := reasonText[rc.ActionReason]; r != "" {
				e.Detail = []string{r}
			}
			s.Replaced = append(s.Replaced, e)
		}
	}
	return s
}

// Changes reports whether the plan changes anything beyond forgetting resources.
func (s Summary) Changes() bool {
	return len(s.Updated)+len(s.Adopted)+len(s.Created)+len(s.Replaced)+len(s.Deleted) > 0
}

// changedAttributes lists the top-level attributes an update changes, including those known only after apply.
func changedAttributes(c *tfjson.Change) []string {
	before, _ := c.Before.(map[string]any)
	after, _ := c.After.(map[string]any)
	unknown, _ := c.AfterUnknown.(map[string]any)
	var out []string
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] && k != "id" {
			seen[k] = true
			out = append(out, k)
		}
	}
	for k, v := range after {
		if !reflect.DeepEqual(before[k], v) {
			add(k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok && before[k] != nil {
			add(k)
		}
	}
	for k, v := range unknown {
		if v == true {
			add(k)
		}
	}
	slices.Sort(out)
	return out
}

// WriteSummary prints s for people: one heading per kind with its resources, kinds with none left out.
func WriteSummary(w io.Writer, s Summary) {
	fmt.Fprintf(w, "Plan summary: %d kept, %d changed in place, %d adopted, %d moved, %d created, %d replaced, %d deleted, %d forgotten\n",
		len(s.Kept), len(s.Updated), len(s.Adopted), len(s.Moved), len(s.Created), len(s.Replaced), len(s.Deleted), len(s.Forgotten))
	section := func(title string, es []SummaryEntry) {
		if len(es) == 0 {
			return
		}
		fmt.Fprintf(w, "  %s:\n", title)
		for _, e := range es {
			if len(e.Detail) == 0 {
				fmt.Fprintf(w, "    %s\n", e.Address)
				continue
			}
			fmt.Fprintf(w, "    %s (%s)\n", e.Address, strings.Join(e.Detail, ", "))
		}
	}
	plain := func(addrs []string) []SummaryEntry {
		out := make([]SummaryEntry, len(addrs))
		for i, a := range addrs {
			out[i] = SummaryEntry{Address: a}
		}
		return out
	}
	section("kept", plain(s.Kept))
	section("changed in place", s.Updated)
	section("adopted", s.Adopted)
	section("moved", s.Moved)
	section("created", plain(s.Created))
	section("replaced", s.Replaced)
	section("deleted", s.Deleted)
	section("forgotten (left in the account, out of the state)", plain(s.Forgotten))
}

// SummarizeChanges sorts a plan's announced changes (PlanChanges) into a Summary without show -json: what the
// state holds and the plan does not name is kept. It has no attribute details: a replacement says why, not which
// attribute forces it.
func SummarizeChanges(planned []PlannedChange, inState []string) Summary {
	var s Summary
	named := map[string]bool{}
	for _, c := range planned {
		named[c.Address] = true
		e := SummaryEntry{Address: c.Address}
		if r := changeReasonText[c.Reason]; r != "" {
			e.Detail = []string{r}
		}
		// An import or a move comes as the action it also takes (noop or update) with importing or
		// previous_resource set, as show -json's importing and previous_address.
		if c.ImportID != "" {
			s.Adopted = append(s.Adopted, SummaryEntry{Address: c.Address, Detail: []string{"import " + c.ImportID}})
			continue
		}
		if c.PreviousAddress != "" && c.PreviousAddress != c.Address && c.Action != "replace" && c.Action != "delete" {
			s.Moved = append(s.Moved, SummaryEntry{Address: c.Address, Detail: []string{"from " + c.PreviousAddress}})
			continue
		}
		switch c.Action {
		case "noop", "read":
			s.Kept = append(s.Kept, c.Address)
		case "create":
			s.Created = append(s.Created, c.Address)
		case "update":
			s.Updated = append(s.Updated, SummaryEntry{Address: c.Address})
		case "replace":
			s.Replaced = append(s.Replaced, e)
		case "delete":
			s.Deleted = append(s.Deleted, e)
		case "remove":
			s.Forgotten = append(s.Forgotten, c.Address)
		}
	}
	for _, a := range inState {
		if !named[a] {
			s.Kept = append(s.Kept, a)
		}
	}
	// The messages come in the order the graph walk ends each resource, which varies: sort as show -json does.
	for _, l := range [][]string{s.Kept, s.Created, s.Forgotten} {
		slices.Sort(l)
	}
	for _, l := range [][]SummaryEntry{s.Updated, s.Adopted, s.Moved, s.Replaced, s.Deleted} {
		slices.SortFunc(l, func(a, b SummaryEntry) int { return strings.Compare(a.Address, b.Address) })
	}
	return s
}

// changeReasonText renders a planned_change's reason, as reasonText renders show -json's action_reason.
var changeReasonText = map[string]string{
	"tainted":                           reasonText[tfjson.ActionReasonReplaceBecauseTainted],
	"requested":                         reasonText[tfjson.ActionReasonReplaceByRequest],
	"cannot_update":                     reasonText[tfjson.ActionReasonReplaceBecauseCannotUpdate],
	"replace_by_triggers":               reasonText[tfjson.ActionReasonReplaceByTriggers],
	"delete_because_no_resource_config": reasonText[tfjson.ActionReasonDeleteBecauseNoResourceConfig],
	"delete_because_wrong_repetition":   reasonText[tfjson.ActionReasonDeleteBecauseWrongRepetition],
	"delete_because_count_index":        reasonText[tfjson.ActionReasonDeleteBecauseCountIndex],
	"delete_because_each_key":           reasonText[tfjson.ActionReasonDeleteBecauseEachKey],
	"delete_because_no_module":          reasonText[tfjson.ActionReasonDeleteBecauseNoModule],
	"delete_because_no_move_target":     reasonText[tfjson.ActionReasonDeleteBecauseNoMoveTarget],
}
