# The README's commands. `make test` is what CI runs (through .ci/run).
GO ?= go
export CHECKPOINT_DISABLE := 1

.PHONY: synth test bench fuzz build security

synth:
	$(GO) run ./cmd/tapstack synth

build:
	$(GO) build -o bin/tapstack ./cmd/tapstack

# Unit, golden, real-Terraform and end-to-end (moto) tests. The e2e tests start and stop their own moto servers.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 75m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

fuzz:
	$(GO) test ./pkg/rules -run '^$$' -fuzz FuzzLoadAndCheck -fuzztime 60s

# trivy over every profile's synthesized JSON and plan JSON; see SECURITY.md.
security:
	bash scripts/security-scan.sh
