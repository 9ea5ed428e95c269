# pgsql-ra: the pgsql OCF resource agent as one static Go binary.
#   make demo   build, bring up the two-node lab with this agent, show crm_mon -Afr1
#   make test   everything CI runs (installs missing packages first)

PREFIX      ?= /usr
OCF_DIR     ?= $(PREFIX)/lib/ocf/resource.d/cfengine
AGENT_PATH   = $(DESTDIR)$(OCF_DIR)/pgsql
# Version: the nearest v* tag (e.g. v0.2.0-3-gabc1234 -> 0.2.0-3-gabc1234), else 0.1.0 and the commit.
VERSION     ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//' || true)
ifeq ($(VERSION),)
VERSION     := 0.1.0-dev.$(shell git rev-list --count HEAD 2>/dev/null || echo 0).g$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
endif
GO          ?= go
GOFLAGS_BUILD = -trimpath -ldflags "-s -w -X main.version=$(VERSION)"
BIN          = bin/pgsql-ra

.PHONY: all build deps test unit acceptance lint install uninstall demo demo-down figures clean

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/pgsql-ra

# Installs missing Debian packages (PostgreSQL 15, Pacemaker CLI, resource-agents, xmllint...).
deps:
	bash test/install-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

# Unit tests need neither root nor PostgreSQL.
unit:
	$(GO) test -race -count=1 ./metadata/ ./pgctl/ ./crmattr/ ./agent/

# Acceptance tests run the installed agent against real PostgreSQL and ocf-tester (root).
acceptance: install
	PGSQL_RA_AGENT=$(AGENT_PATH) $(GO) test -count=1 -timeout 20m ./test/...

test: deps lint build
	$(MAKE) install
	PGSQL_RA_AGENT=$(AGENT_PATH) $(GO) test -count=1 -timeout 60m ./...

install: build
	install -d $(DESTDIR)$(OCF_DIR)
	install -m 0755 $(BIN) $(AGENT_PATH)

uninstall:
	rm -f $(AGENT_PATH)

# Measured figures for the notes (not asserted anywhere): size, meta-data and monitor cost.
figures: build
	bash test/figures.sh $(BIN)

clean:
	rm -rf bin dist
