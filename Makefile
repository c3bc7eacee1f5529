# Makefile for 践诺 Jiannuo.
#
#   make help            list the targets
#   make deps            install missing Debian packages, download Go modules
#   make test            what CI runs (.ci/run calls `make deps test`)
#   make fuzz FUZZTIME=2m
#   make bench BENCH=Chain
#
# Every recipe runs in bash with -euo pipefail, so any failing step fails the
# target.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# Steps run in the order written, even under `make -j`.
.NOTPARALLEL:

GO ?= go
GOFMT ?= gofmt

# How long `make fuzz` runs each Fuzz* target.
FUZZTIME ?= 30s
# Benchmark filter for `make bench` (a -bench regexp).
BENCH ?= .
# Per-binary timeout for `make test`.
TEST_TIMEOUT ?= 20m

# Build tags for vet, tests, fuzzing and benchmarks:
#   ci               Fyne's headless driver: GUI packages test without a display
#                    and without compiling the cgo GLFW driver;
#   migrated_fynedo  Fyne's threading model that FyneApp.toml selects
#                    ([Migrations] fyneDo = true). Plain `go test`/`go run` do not
#                    read FyneApp.toml, so the tag is passed here instead.
TEST_TAGS ?= ci,migrated_fynedo
# Build tags for `make run` (real GLFW driver, needs a display).
RUN_TAGS ?= migrated_fynedo

# Debian packages: a C toolchain for cgo (-race, the GLFW driver), the X11/GL
# headers the GLFW driver compiles against, and Xvfb (with xauth, which
# xvfb-run needs) to run the app without a screen. libc6-dev and xauth are
# listed explicitly because they are only "recommended" by gcc and xvfb, and
# recommendations are not installed. ImageMagick (import, identify), xdotool
# and x11-utils (xwininfo) are for `make screenshot`. Chromium and the Noto
# CJK fonts render the public disclosure page in its headless-browser test.
# poppler-utils (pdftotext, pdftoppm) reads back the printable public notice
# in its tests: the text extracted, the QR codes decoded from rendered pages.
DEB_PACKAGES := gcc libc6-dev pkg-config \
	libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
	libxinerama-dev libxi-dev libxxf86vm-dev \
	xvfb xauth imagemagick xdotool x11-utils \
	chromium fonts-noto-cjk poppler-utils

# Use sudo for apt-get only when not already root.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

# Lower layers: they must build with CGO_ENABLED=0 (so without Fyne). Folders
# that do not exist yet are skipped.
PURE_GO_DIRS := domain auth store sync server report demo cmd

.PHONY: help deps run demo-cli test fmt-check vet build-pure test-race fuzz bench screenshot icon clean

help: ## List the targets and the variables they read
	@echo "Targets:"
	@awk 'BEGIN { FS = ":[^#]*## " } /^[a-zA-Z_-]+:[^#]*## / { printf "  %-11s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo "Variables (current value):"
	@echo "  FUZZTIME=$(FUZZTIME)  BENCH=$(BENCH)  TEST_TIMEOUT=$(TEST_TIMEOUT)"
	@echo "  TEST_TAGS=$(TEST_TAGS)  RUN_TAGS=$(RUN_TAGS)  GO=$(GO)"

deps: ## Install missing Debian packages (apt-get, only if needed); go mod download
	@if ! command -v dpkg >/dev/null 2>&1; then \
		echo "deps: no dpkg here: install by hand: $(DEB_PACKAGES)"; \
	else \
		missing=""; \
		for p in $(DEB_PACKAGES); do \
			dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' \
				|| missing="$$missing $$p"; \
		done; \
		if [ -n "$$missing" ]; then \
			echo "deps: installing$$missing"; \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -q --no-install-recommends $$missing; \
		else \
			echo "deps: all Debian packages present"; \
		fi; \
	fi
	$(GO) mod download

run: deps ## Open the desktop app on the demo township, with a local county server to sync with
	$(GO) run -tags '$(RUN_TAGS)' . -demo -demo-dir jiannuo-demo

demo-cli: deps ## The same demo without a display: build it and print a summary
	$(GO) run -tags '$(RUN_TAGS)' ./cmd/jiannuo demo

test: deps ## gofmt check, go vet, CGO_ENABLED=0 build of lower layers, race tests
	@$(MAKE) --no-print-directory fmt-check
	@$(MAKE) --no-print-directory vet
	@$(MAKE) --no-print-directory build-pure
	@$(MAKE) --no-print-directory test-race

# The steps of `test`, in order. They can be run one by one too.

fmt-check:
	@echo "== gofmt -l"
	@files=$$(find . -name '*.go' -not -path './.git/*' -not -path './vendor/*' \
			-not -path '*/testdata/*' -print0 | xargs -0 -r $(GOFMT) -l); \
	if [ -n "$$files" ]; then \
		echo "gofmt: these files are not formatted (run gofmt -w):"; \
		echo "$$files"; \
		exit 1; \
	fi

vet:
	@echo "== go vet"
	$(GO) vet -tags '$(TEST_TAGS)' ./...

build-pure:
	@echo "== CGO_ENABLED=0 go build of the lower layers"
	@pkgs=""; \
	for d in $(PURE_GO_DIRS); do \
		if [ -d "$$d" ]; then pkgs="$$pkgs $$($(GO) list ./$$d/...)"; fi; \
	done; \
	pkgs=$$(echo $$pkgs); \
	if [ -z "$$pkgs" ]; then \
		echo "no packages yet under: $(PURE_GO_DIRS)"; \
	else \
		echo "CGO_ENABLED=0 $(GO) build $$pkgs"; \
		CGO_ENABLED=0 $(GO) build -o /dev/null $$pkgs; \
	fi

test-race:
	@echo "== go test -race"
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -tags '$(TEST_TAGS)' ./...

fuzz: ## Run every Fuzz* target found by go test -list for FUZZTIME each
	@targets=$$($(GO) test -tags '$(TEST_TAGS)' -list '^Fuzz' ./... | awk ' \
		/^Fuzz/ { names = names " " $$1; next }; \
		/^ok/   { n = split(names, a, " "); for (i = 1; i <= n; i++) print $$2, a[i] }; \
		        { names = "" }'); \
	if [ -z "$$targets" ]; then echo "fuzz: no Fuzz targets found"; exit 0; fi; \
	while read -r pkg name; do \
		echo "== fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -tags '$(TEST_TAGS)' -run '^$$' -fuzz "^$$name\$$" \
			-fuzztime '$(FUZZTIME)' "$$pkg" </dev/null; \
	done <<< "$$targets"

bench: ## Run benchmarks matching BENCH (default: all) with -benchmem
	$(GO) test -tags '$(TEST_TAGS)' -run '^$$' -bench '$(BENCH)' -benchmem ./...

screenshot: ## Build the real app, run it under Xvfb in demo mode, check a screenshot, picture the scenes into docs/screenshots (.ci/screenshot.sh)
	BUILD_TAGS='$(RUN_TAGS)' bash .ci/screenshot.sh

icon: ## Regenerate assets/icon.png with tools/mkicon
	$(GO) run ./tools/mkicon -o assets/icon.png

clean: ## Remove built binaries, demo databases, dist/ and coverage files
	$(GO) clean
	rm -rf dist bin
	rm -f jiannuo jiannuo.exe jiannuod jiannuo-server mkicon ./*.db ./*.test \
		coverage.out coverage.html cover.out ./*.coverprofile ./*.prof
