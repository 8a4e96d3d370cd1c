# The one test command, the one README names and .ci/run calls.
# It installs what the tests need (the kustomize CLI for parity checks)
# through the Go toolchain into ./bin, so a fresh clone needs only Go and git.

KUSTOMIZE_VERSION := v5.8.2
BIN := $(CURDIR)/bin
export KUSTOMIZE := $(BIN)/kustomize

.PHONY: test vet bench
test: vet $(KUSTOMIZE)
	go test -count=1 ./...
	go test -run='^$$' -fuzz='^FuzzImages$$' -fuzztime=20s -fuzzminimizetime=1x ./internal/render/
	@if [ -f e2e/go.mod ]; then cd e2e && go vet ./... && go test -count=1 -timeout 20m ./...; fi

vet:
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files -co --exclude-standard '*.go'); exit 1; }
	go vet ./...

$(KUSTOMIZE):
	GOBIN=$(BIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
