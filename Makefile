# The README's commands. `make test` is what CI runs (through .ci/run).
GO ?= go
export CHECKPOINT_DISABLE := 1

.PHONY: synth test vet lint unit e2e e2e-nokube e2e-kube kube bench fuzz build security

synth:
	$(GO) run ./cmd/tapstack synth

build:
	$(GO) build -o bin/tapstack ./cmd/tapstack

# Every package outside test/: unit and golden tests. They need neither Terraform nor moto (the engine and CLI
# tests run a script posing as terraform) and reach no network; .ci/run runs them again without one.
UNIT_PKGS = $(filter-out github.com/tapstack/tapstack/test/%,$(shell $(GO) list ./...))

# vet, the linter, the unit tests, then the end-to-end tests in two parts: those that need no Kubernetes API
# server first, then the TestKube ones once kube-apiserver, etcd and kube-controller-manager are built (cached;
# `make kube` waits for a build already running). The same tests as `make e2e`.
test: vet lint unit e2e-nokube e2e-kube

vet:
	$(GO) vet ./...

# staticcheck, pinned in go.mod as a tool (go get -tool honnef.co/go/tools/cmd/staticcheck@VERSION).
lint:
	$(GO) tool staticcheck ./...

unit:
	$(GO) test -count=1 $(UNIT_PKGS)

# Real-Terraform and end-to-end (moto) tests. The e2e tests start and stop their own moto servers and run in
# parallel: most of their time is spent waiting on Terraform and on the front's asynchronous changes, not on CPU.
e2e:
	$(GO) test -count=1 -timeout 75m -parallel 8 ./test/...

# The same tests in two parts, for .ci/run: those that need a Kubernetes API server (kube-apiserver, etcd and
# kube-controller-manager from `make kube`; their names start with TestKube, test/kubeapi enforces it) and the
# others, which run while it builds.
KUBE_TESTS = ^TestKube
e2e-nokube:
	$(GO) test -count=1 -timeout 75m -parallel 8 -skip '$(KUBE_TESTS)' ./test/...

e2e-kube: kube
	$(GO) test -count=1 -timeout 30m -parallel 8 -run '$(KUBE_TESTS)' ./test/...

# kube-apiserver, etcd and kube-controller-manager for the TestKube tests, built once into a cache kept by version
# (20 minutes or more, once).
kube:
	nice -n 10 bash scripts/build-kube.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

fuzz:
	$(GO) test ./pkg/rules -run '^$$' -fuzz FuzzLoadAndCheck -fuzztime 60s

# trivy over every profile's synthesized JSON and plan JSON; see docs/security.md.
security:
	bash scripts/security-scan.sh
