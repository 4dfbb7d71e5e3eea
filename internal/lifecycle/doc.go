// Package lifecycle holds tapstack's workflows: Synth, Plan, Deploy, Upgrade, Destroy, Outputs, Verify and the
// live checks, as plain Go over an Engine (Terraform or OpenTofu in one stack directory) and the AWS clients.
//
// A workflow takes a Prepared configuration and Options, reports what it does through a Progress, and returns a
// result or a typed error: *RefusedError (findings refuse it), *GuardError (the plan would lose a protected
// resource), *StepError (a named step failed), *InputError (an argument is wrong), *UpgradeStoppedError. None of
// them knows about exit codes or flags: cmd/tapstack maps errors to exit codes with Refused.
package lifecycle
