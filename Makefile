# The one test command, the one README names and .ci/run calls.
# It installs what the tests need (the kustomize CLI for parity checks,
# staticcheck) through the Go toolchain into ./bin, so a fresh clone needs
# only Go and git.

# The kustomize release digestpin renders like is stated once, as
# render.KustomizeVersion in Go; everything else reads it from there.
KUSTOMIZE_VERSION := $(shell sed -n 's/^const KustomizeVersion = "\(v[0-9.]*\)"$$/\1/p' internal/render/*.go)
STATICCHECK_VERSION := v0.8.2
# Also named in cmd/digestpin/action_test.go, which checks the binary's version.
ACTIONLINT_VERSION := v1.7.12
BIN := $(CURDIR)/bin
export KUSTOMIZE := $(BIN)/kustomize
export ACTIONLINT := $(BIN)/actionlint
STATICCHECK := $(BIN)/staticcheck-$(STATICCHECK_VERSION)

.PHONY: test unit race fuzz lint tidy vet e2e cluster
test: lint unit race fuzz e2e

unit: $(KUSTOMIZE) $(ACTIONLINT)
	go test -count=1 ./...
	cd cmd/digestpin-verify && go test -count=1 ./...

# The race detector over the library packages, where the concurrency is,
# and over pin, whose concurrency runs in the binary its tests run.
race: $(KUSTOMIZE)
	go test -race -count=1 ./internal/...
	DIGESTPIN_TEST_RACE=1 go test -count=1 -run '^TestPin' ./cmd/digestpin

# Brief fuzz runs; a failure leaves its input in testdata/fuzz. Budgets
# are counts of calls, not durations: with a duration, Go 1.26's fuzzing
# coordinator can report "context deadline exceeded" as a failure when the
# time runs out (golang/go#75804, fixed in Go 1.27). Each takes 5 to 20
# seconds on 2 idle cores; the baseline run over the cached corpus counts.
fuzz:
	go test -run='^$$' -fuzz='^FuzzImages$$' -fuzztime=500x -fuzzminimizetime=1x ./internal/render/
	go test -run='^$$' -fuzz='^FuzzSplit$$' -fuzztime=70000x -fuzzminimizetime=1x ./internal/imageref/
	go test -run='^$$' -fuzz='^FuzzText$$' -fuzztime=500000x -fuzzminimizetime=1x ./internal/untrusted/
	go test -run='^$$' -fuzz='^FuzzVet$$' -fuzztime=7000x -fuzzminimizetime=1x ./internal/render/
	go test -run='^$$' -fuzz='^FuzzConstraint$$' -fuzztime=300000x -fuzzminimizetime=1x ./internal/semver/

e2e: $(KUSTOMIZE) cluster
	@if [ -f e2e/go.mod ]; then cd e2e && go vet ./... && go test -count=1 -timeout 20m ./...; fi

lint: vet tidy $(STATICCHECK)
	$(STATICCHECK) ./...
	cd cmd/digestpin-verify && $(STATICCHECK) ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files -co --exclude-standard '*.go'); exit 1; }
	go vet ./...
	cd cmd/digestpin-verify && go vet ./...

# Every module's go.mod and go.sum say exactly what they use.
tidy:
	go mod tidy -diff
	for m in e2e e2e/cluster cmd/digestpin-verify; do (cd $$m && go mod tidy -diff) || exit 1; done

$(KUSTOMIZE):
	@test -n "$(KUSTOMIZE_VERSION)" || { echo "render.KustomizeVersion not found"; exit 1; }
	GOBIN=$(BIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(ACTIONLINT):
	GOBIN=$(BIN) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

$(STATICCHECK):
	GOBIN=$(BIN)/staticcheck.tmp go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/staticcheck.tmp/staticcheck $@ && rmdir $(BIN)/staticcheck.tmp

# The control plane (etcd, kube-apiserver, kube-controller-manager), argocd,
# redis-server, digestpin, digestpin-verify and digestpin-cluster-demo in
# ./bin for the cluster suite and `digestpin demo --cluster`; the first two
# are built once into ~/.cache/digestpin (11 minutes on 2 idle cores),
# later runs take seconds.
cluster:
	e2e/cluster/setup.sh $(BIN)
