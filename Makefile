# spec-kitty-sync build, test and release targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell sh scripts/version.sh)
LDFLAGS := -s -w -X github.com/spec-kitty/spec-kitty-sync/core/version.Version=$(VERSION)
BIN := bin
PREFIX ?= $(HOME)/.local
export CGO_ENABLED ?= 0
HOSTOS := $(shell $(GO) env GOHOSTOS)
# The macOS menu bar icon needs cgo: on a Mac the tray is built with it
# whatever CGO_ENABLED says (a cgo-less darwin tray is a stub that exits 1).
TRAY_CGO := $(if $(filter darwin,$(HOSTOS)),1,$(CGO_ENABLED))
# On Windows the tray and spec-kitty-service.exe (the logon task's daemon)
# are GUI-subsystem programs, so no console window opens.
GUI_LDFLAGS := $(if $(filter windows,$(HOSTOS)),-H=windowsgui,)

.PHONY: help build test check bench soak install demo tools clean

help: ## list targets
	@grep -hE '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ## build spec-kitty and spec-kitty-tray (and on Windows spec-kitty-service) into bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cli/cmd/spec-kitty
	CGO_ENABLED=$(TRAY_CGO) $(GO) build -trimpath -ldflags '$(LDFLAGS) $(GUI_LDFLAGS)' -o $(BIN)/ ./tray/cmd/spec-kitty-tray
	$(if $(GUI_LDFLAGS),$(GO) build -trimpath -ldflags '$(LDFLAGS) $(GUI_LDFLAGS)' -o $(BIN)/ ./cli/cmd/spec-kitty-service)

tools: ## install what the tests need (when root), or say what is missing
	bash scripts/test-tools.sh

# The package build and install test runs under CI (CI=true) or when asked
# for (make test PACKAGE_TEST=1); elsewhere it skips, saying so.
PACKAGE_TEST ?= $(if $(filter true,$(CI)),1,0)

test: tools ## run every test (installs missing test tools when root)
	SPEC_KITTY_PACKAGE_TEST=$(PACKAGE_TEST) $(GO) run ./scripts/testreport -count=1 -timeout 45m ./...
	bash scripts/acceptance.sh

check: ## gofmt, go vet, staticcheck, actionlint, CGO_ENABLED=0 cross-builds
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) tool actionlint -shellcheck= -pyflakes=
	for os in linux darwin windows; do \
	  echo "cross-build spec-kitty for $$os"; \
	  GOOS=$$os GOARCH=amd64 $(GO) build -o /dev/null ./cli/cmd/spec-kitty || exit 1; \
	done
	echo "cross-build spec-kitty-tray for linux"
	GOOS=linux GOARCH=amd64 $(GO) build -o /dev/null ./tray/cmd/spec-kitty-tray
	echo "cross-build spec-kitty-tray for windows (GUI subsystem: no console window)"
	GOOS=windows GOARCH=amd64 $(GO) build -ldflags '-H=windowsgui' -o /dev/null ./tray/cmd/spec-kitty-tray
	GOOS=windows GOARCH=amd64 $(GO) build -ldflags '-H=windowsgui' -o /dev/null ./cli/cmd/spec-kitty-service
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
