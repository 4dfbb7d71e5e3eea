package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Violation is one protected resource the plan would delete or replace.
type Violation struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	// Action is "delete", "replace (delete, then create)" or "replace (create, then delete)".
	Action string `json:"action"`
	// Reason says why, from the plan's action_reason.
	Reason string `json:"reason,omitempty"`
	// ForcedBy lists the attributes whose change forces the replacement (the plan's replace_paths), as
	// cidr_block or vpc_config[0].subnet_ids.
	ForcedBy []string `json:"forcedBy,omitempty"`
	// Deposed is set when the object is a deposed one (left over by an earlier create-before-destroy).
	Deposed string `json:"deposed,omitempty"`
}

func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.Address)
	if v.Deposed != "" {
		b.WriteString(" (deposed object " + v.Deposed + ")")
	}
	b.WriteString(": " + v.Action)
	var why []string
	switch len(v.ForcedBy) {
	case 0:
	case 1:
		why = append(why, "a change to "+v.ForcedBy[0]+" forces replacement")
	default:
		why = append(why, "changes to "+strings.Join(v.ForcedBy, ", ")+" force replacement")
	}
	if v.Reason != "" && (len(v.ForcedBy) == 0 || v.Reason != reasonText[tfjson.ActionReasonReplaceBecauseCannotUpdate]) {
		why = append(why, v.Reason)
	}
	if len(why) > 0 {
		b.WriteString(", because " + strings.Join(why, "; "))
	}
	return b.String()
}

// reasonText renders the plan's action_reason.
var reasonText = map[tfjson.ActionReason]string{
	tfjson.ActionReasonReplaceBecauseCannotUpdate:    "an attribute that cannot be updated in place changes",
	tfjson.ActionReasonReplaceBecauseTainted:         "the object is tainted",
	tfjson.ActionReasonReplaceByRequest:              "replacement was requested (-replace)",
	tfjson.ActionReasonReplaceByTriggers:             "replace_triggered_by fired",
	tfjson.ActionReasonDeleteBecauseNoResourceConfig: "the resource is no longer in the configuration",
	tfjson.ActionReasonDeleteBecauseWrongRepetition:  "the resource's count or for_each changed kind",
	tfjson.ActionReasonDeleteBecauseCountIndex:       "its count index is no longer in range",
	tfjson.ActionReasonDeleteBecauseEachKey:          "its for_each key is gone",
	tfjson.ActionReasonDeleteBecauseNoModule:         "its module is no longer in the configuration",
	tfjson.ActionReasonDeleteBecauseNoMoveTarget:     "it was moved to an address that does not exist",
}

// Guard returns the resources of the protected types that the plan would delete or replace, in the plan's order;
// the caller says which types its environment cannot lose. A resource that leaves the state through a `removed`
// block with `lifecycle { destroy = false }` is forgotten, not deleted (action "forget"), and is not a violation;
// nor is a read, a create, an in-place update or a no-op.
func Guard(p *tfjson.Plan, protected []string) []Violation {
	if p == nil {
		return nil
	}
	var out []Violation
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode || !slices.Contains(protected, rc.Type) {
			continue
		}
		action := destructive(rc.Change.Actions)
		if action == "" {
			continue
		}
		v := Violation{Address: rc.Address, Type: rc.Type, Action: action, Reason: reasonText[rc.ActionReason],
			Deposed: rc.DeposedKey}
		if v.Reason == "" && rc.ActionReason != "" {
			v.Reason = string(rc.ActionReason)
		}
		for _, p := range rc.Change.ReplacePaths {
			v.ForcedBy = append(v.ForcedBy, FormatPath(p))
		}
		out = append(out, v)
	}
	return out
}

// destructive names what an action list does to the existing object, or "" when it survives.
func destructive(a tfjson.Actions) string {
	switch {
	case a.Forget(), a.NoOp(), a.Read(), a.Create(), a.Update():
		return ""
	case a.Delete():
		return "delete"
	case a.DestroyBeforeCreate():
		return "replace (delete, then create)"
	case a.CreateBeforeDestroy():
		return "replace (create, then delete)"
	case slices.Contains(a, tfjson.ActionDelete):
		return strings.Join(actionStrings(a), ", ")
	}
	return ""
}

func actionStrings(a tfjson.Actions) []string {
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = string(x)
	}
	return out
}

// FormatPath renders a replace_paths entry, such as ["vpc_config", 0, "subnet_ids"], as
// vpc_config[0].subnet_ids.
func FormatPath(p any) string {
	steps, ok := p.([]any)
	if !ok {
		return fmt.Sprint(p)
	}
	var b strings.Builder
	for _, s := range steps {
		switch x := s.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(x)
		case float64:
			b.WriteString("[" + strconv.FormatFloat(x, 'f', -1, 64) + "]")
		case json.Number:
			b.WriteString("[" + x.String() + "]")
		default:
			fmt.Fprintf(&b, "[%v]", x)
		}
	}
	return b.String()
}

// WriteViolations lists violations, one a line.
func WriteViolations(w io.Writer, vs []Violation) {
	for _, v := range vs {
		fmt.Fprintf(w, "  %s\n", v.String())
	}
}
