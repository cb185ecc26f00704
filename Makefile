# spec-kitty-sync build, test and release targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/spec-kitty/spec-kitty-sync/core/version.Version=$(VERSION)
BIN := bin
PREFIX ?= $(HOME)/.local
export CGO_ENABLED ?= 0

.PHONY: help build test check bench soak install demo tools clean

help: ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ## build spec-kitty and spec-kitty-tray into bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/spec-kitty ./cli/cmd/spec-kitty
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/spec-kitty-tray ./tray/cmd/spec-kitty-tray

tools: ## install what the tests need (when root), or say what is missing
	bash scripts/test-tools.sh

test: tools ## run every test (installs missing test tools when root)
	SPEC_KITTY_PACKAGE_TEST=1 $(GO) test -count=1 -timeout 45m ./...
	bash scripts/acceptance.sh

check: ## gofmt, go vet, staticcheck, CGO_ENABLED=0 cross-builds
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	for os in linux darwin windows; do \
	  echo "cross-build spec-kitty for $$os"; \
	  GOOS=$$os GOARCH=amd64 $(GO) build -o /dev/null ./cli/cmd/spec-kitty || exit 1; \
	done
	echo "cross-build spec-kitty-tray for linux"
	GOOS=linux GOARCH=amd64 $(GO) build -o /dev/null ./tray/cmd/spec-kitty-tray
	echo "cross-build spec-kitty-tray for windows (GUI subsystem: no console window)"
	GOOS=windows GOARCH=amd64 $(GO) build -ldflags '-H=windowsgui' -o /dev/null ./tray/cmd/spec-kitty-tray
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./tray/... # the cgo-less darwin stub

bench: ## run the benchmarks and print figures against their targets
	bash scripts/bench.sh

soak: ## long runs: the 200,000-event crash proof and the 1M-line backlog (figures printed)
	SPEC_KITTY_SOAK=1 $(GO) test -count=1 -timeout 60m -v -run 'Soak$$' ./...

install: build ## install both binaries into $(PREFIX)/bin
	bash installer/install.sh --from $(BIN) --prefix $(PREFIX)

demo: build ## the end-to-end demo against the embedded dev host
	bash scripts/demo.sh

include installer/Makefile.inc

clean: ## remove build outputs
	rm -rf $(BIN) dist
