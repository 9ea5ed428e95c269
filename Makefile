# pgsql-ra: the pgsql OCF resource agent as one static Go binary.
#   make demo   build, bring up the two-node lab with this agent, show crm_mon -Afr1
#   make test   everything CI runs (installs missing packages first)
#   make faults the fault matrix for stock, PAF and ours (issue #12 §3; FAULT_RUNS=10)
#   make soak   random faults for DURATION per agent (issue #12 §4; DURATION=30m SEED=1)

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

.PHONY: all build deps test unit acceptance fuzz fuzz-smoke lint simulate install install-deb uninstall demo demo-down figures clean \
	binaries man rpm deb packages

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/pgsql-ra

# Installs missing Debian packages (PostgreSQL 15, Pacemaker CLI, resource-agents, xmllint...).
deps:
	bash test/install-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

# Unit tests need neither root nor PostgreSQL (test/labkit: the Runner, the writer's statistics;
# LAB_AGENTS=none, so that an exported LAB_AGENTS never starts the lab under -race).
unit:
	LAB_AGENTS=none $(GO) test -race -count=1 ./metadata/ ./pgctl/ ./crmattr/ ./agent/ ./test/labreport/ ./test/labctl/ ./test/labkit/

# The seeded policy simulator (issue #10) on the current rules: at least SIM_STEPS steps or
# SIM_BUDGET, printing steps, seeds and violations.
SIM_BUDGET ?= 10m
SIM_STEPS  ?= 1000000
simulate:
	SIM_BUDGET=$(SIM_BUDGET) SIM_STEPS=$(SIM_STEPS) $(GO) test -run '^TestSimulator$$' -count=1 -v -timeout 30m ./agent/

# Fuzzing (#11): every parser of outside input has a Go fuzz target. `make fuzz` runs each
# for FUZZTIME, one after another (FUZZTIME=10m for the long run); `make fuzz-smoke` (part of
# `make test`) runs each for 2000 inputs: a count, not a time, since a time limit can end a run
# with "context deadline exceeded" (a go test -fuzz flake seen in CI). Failing inputs land in
# <pkg>/testdata/fuzz/<FuzzName>/ and, committed, are run by the plain `go test` with every
# target's seeds. FUZZPARALLEL bounds the fuzzing workers.
FUZZTIME     ?= 60s
FUZZPARALLEL ?= 1
FUZZ_TARGETS  = pgctl:FuzzLSN pgctl:FuzzParseVersion pgctl:FuzzParseControlData \
	pgctl:FuzzSyncStandbys pgctl:FuzzSplitWords pgctl:FuzzConfLine agent:FuzzParsePrePromote agent:FuzzParseTimeline \
	agent:FuzzReadLock agent:FuzzReadNotification agent:FuzzReadEnv crmattr:FuzzParseClusterView

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -parallel $(FUZZPARALLEL) ./$${t%%:*}/; \
	done

fuzz-smoke:
	$(MAKE) fuzz FUZZTIME=2000x

# Acceptance tests run the installed agent against real PostgreSQL and ocf-tester (root).
acceptance: install
	PGSQL_RA_AGENT=$(AGENT_PATH) $(GO) test -count=1 -timeout 20m ./test/...

# The lab scenarios' agents for `make test` and `make lab` (LAB_AGENTS=none: no lab). make test
# runs the stock agent only where a scenario tests ours against it (LAB_OURS_ONLY=true).
LAB_AGENTS ?= stock ours

# The lab's tests (test/labkit) run after the others, never beside the acceptance tests of
# test/, whose timings they would disturb.
TEST_ENV = LAB_AGENTS="$(LAB_AGENTS)" LAB_OURS_ONLY=true PGSQL_RA_AGENT=$(AGENT_PATH) PGSQL_RA_DIST=$(CURDIR)/$(DIST) PGSQL_RA_PKG_VERSION='$(PKG_VERSION)' SIM_BUDGET=60s
test: deps lint build packages
	$(MAKE) install-deb
	$(MAKE) fuzz-smoke
	$(TEST_ENV) $(GO) test -count=1 -timeout 60m $$($(GO) list ./... | grep -v '/test/labkit$$')
	$(TEST_ENV) $(GO) test -count=1 -timeout 30m ./test/labkit/

install: build
	install -d $(DESTDIR)$(OCF_DIR)
	install -m 0755 $(BIN) $(AGENT_PATH)

# The lab, the acceptance tests and the demo run the agent as the .deb installs it, so every
# run exercises the package (dpkg -i of this machine's architecture).
install-deb: deb
	dpkg -i $(DEB_HOST)

uninstall:
	rm -f $(AGENT_PATH)

# Measured figures for the notes (not asserted anywhere): size, meta-data and monitor cost.
figures: build
	bash test/figures.sh $(BIN)

# Packages: dist/pgsql-ra-$(PKG_VERSION)-1.{x86_64,aarch64}.rpm and
# dist/pgsql-ra_$(PKG_VERSION)-1_{amd64,arm64}.deb, built by nfpm (pinned, run with go run: the
# module proxy is its only source; the first run compiles it, later runs hit the build cache).
# PKG_VERSION is VERSION made valid and well-ordered for rpm and dpkg: the dev fallback
# 0.1.0-dev.N.gHASH becomes 0.1.0~dev.N.gHASH (sorts before 0.1.0), a describe past a tag,
# 0.2.0-3-gabc1234[-dirty], becomes 0.2.0+3.gabc1234[.dirty] (sorts after 0.2.0).
NFPM           ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.43.0
# The upgrade tests build newer packages with DIST, BIN and VERSION set on make's command line.
DIST            = dist
PKG_ARCHES     ?= amd64 arm64
# The maintainer field needs an address (lintian's malformed-contact, #14).
PKG_MAINTAINER ?= pgsql-ra project <pgsql-ra@users.noreply.github.com>
PKG_VERSION    := $(shell echo '$(VERSION)' | sed -E -e 's/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/' \
	-e 's/-dirty$$/+dirty/' -e 's/\+(.*)\+dirty$$/+\1.dirty/' -e 's/-/~/g')
# File times inside the packages: the commit's, so a rebuild of a commit gives the same files.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
# The .deb the lab installs with dpkg -i (this machine's architecture).
DEB_HOST        = $(DIST)/pgsql-ra_$(PKG_VERSION)-1_$(shell $(GO) env GOARCH).deb

# One static binary per packaged architecture: dist/linux-<arch>/pgsql-ra.
binaries:
	set -e; for arch in $(PKG_ARCHES); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build $(GOFLAGS_BUILD) -o $(DIST)/linux-$$arch/pgsql-ra ./cmd/pgsql-ra; \
	done

# pgsql-ra(8), generated at build time from the parameter table by the built agent itself.
man: build
	@mkdir -p $(DIST)
	$(BIN) manpage >$(DIST)/pgsql-ra.8.tmp && mv $(DIST)/pgsql-ra.8.tmp $(DIST)/pgsql-ra.8
	gzip -9nc $(DIST)/pgsql-ra.8 >$(DIST)/pgsql-ra.8.gz

rpm deb: binaries man
	rm -f $(DIST)/pgsql-ra*.$@
	set -e; for arch in $(PKG_ARCHES); do \
		PKG_ARCH=$$arch PKG_VERSION='$(PKG_VERSION)' PKG_MAINTAINER='$(PKG_MAINTAINER)' PKG_DIST='$(DIST)' \
		SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(NFPM) package --config nfpm.yaml --packager $@ --target $(DIST)/; \
	done

packages: rpm deb

clean:
	rm -rf bin dist

# ---- The lab (test/lab): Pacemaker nodes as Linux namespaces on this machine (root). ----
.PHONY: bench bench-ab lab faults

# Two-node lab with our agent (LAB_AGENT=stock|paf for the others),
# the seed's configuration, crm_mon -Afr1, a failover; the lab stays up.
demo: deps build
	$(MAKE) install-deb
	bash test/lab/demo

demo-down:
	bash test/lab/lab down

# The lab scenarios alone (stock agent unless LAB_AGENTS="stock paf ours" says otherwise).
lab: deps build
	$(MAKE) install-deb
	LAB_AGENTS="$(LAB_AGENTS)" $(GO) test -count=1 -timeout 30m -run 'TestLab' -v ./test/labkit/

# The lab's drivers (make bench, faults, soak) are test/labctl's commands (the code:
# test/labkit); their tables go to bench/results.
LABCTL = bin/labctl
.PHONY: labctl
labctl:
	CGO_ENABLED=0 $(GO) build -o $(LABCTL) ./test/labctl

# The benchmark (not part of `make test`, ~20 min): monitor cost, promote, failover, cold
# start, switchover and rejoin for the stock agent, PAF and ours on the lab
# (test/labkit/bench.go). Writes bench/results/<date>-<HHMM>.md (the table, also printed),
# .jsonl and the chart; `go run ./test/labctl bench-report FILE.jsonl` writes the .md and
# chart again (no lab). Smaller runs: BENCH_MONITOR_CALLS (200), BENCH_STRACE_CALLS (20),
# BENCH_FAILOVERS (10), BENCH_NO_RESTART_CUTS (3), BENCH_ROUNDS (3: the agents alternate, each
# round in a rotated order); BENCH_LOAD_TPS (50; 0: no switchover and power cut under pgbench
# load).
BENCH_AGENTS          ?= stock paf ours
BENCH_MONITOR_CALLS   ?= 200
BENCH_STRACE_CALLS    ?= 20
BENCH_FAILOVERS       ?= 10
BENCH_NO_RESTART_CUTS ?= 3
BENCH_ROUNDS          ?= 3
BENCH_LOAD_TPS        ?= 50
BENCH_RESULTS_DIR     ?= bench/results
bench: deps build labctl
	$(MAKE) install-deb
	$(LABCTL) bench -agents "$(BENCH_AGENTS)" -rounds $(BENCH_ROUNDS) -monitor-calls $(BENCH_MONITOR_CALLS) \
		-strace-calls $(BENCH_STRACE_CALLS) -failovers $(BENCH_FAILOVERS) -no-restart-cuts $(BENCH_NO_RESTART_CUTS) \
		-load-tps $(BENCH_LOAD_TPS) -results $(BENCH_RESULTS_DIR)

# Our standby's monitor built from BASE and from the work tree, in one lab, alternating rounds
# (bench/monitor-ab.sh, issue #10): a change in the code told from a change in the machine.
# BASE defaults to the build of the 2026-11-22 baseline (bench/results/2026-11-22-0938.md).
BASE ?= 6cca5eb
bench-ab: deps build
	$(MAKE) install-deb
	bench/monitor-ab.sh $(BASE)

# The fault matrix (issue #12 §3; not part of `make test`, which runs only its CI subset:
# ours, faults 1, 2 and 11 once, ~2 min): the faults listed in test/labkit/faults.go,
# FAULT_RUNS runs each per agent under the audited writer; FAULTS="7 15" picks some (ids or
# names). Writes FAULT_RESULTS_DIR/faults-<date>-<HHMM>.md and .jsonl (`go run ./test/labctl
# faults-report FILE.jsonl` writes the .md again, no lab). Agents: LAB_AGENTS from the command
# line or the environment, else all three. LAB_REP_MODE=sync runs the lab in sync mode.
FAULT_RUNS ?= 10
FAULTS ?=
FAULT_RESULTS_DIR ?= bench/results
ifeq ($(origin LAB_AGENTS),file)
FAULT_AGENTS ?= stock paf ours
else
FAULT_AGENTS ?= $(LAB_AGENTS)
endif
faults: deps build labctl
	$(MAKE) install-deb
	$(LABCTL) faults -agents "$(FAULT_AGENTS)" -runs $(FAULT_RUNS) -faults "$(FAULTS)" -results $(FAULT_RESULTS_DIR)

# The soak (issue #12 §4; not part of `make test`, which runs its CI subset: ours, seed 1,
# two faults): random faults of the matrix, seeded, one at a time with recovery in between,
# under the audited writer, DURATION per agent (LAB_AGENTS, else all three). The first
# violation stops it with the seed and the sequence (SOAK_SEQUENCE="1 6 ..." replays one).
# Writes FAULT_RESULTS_DIR/soak-<date>-<HHMM>.md (test/labkit/soak.go).
DURATION ?= 30m
SEED ?= 1
SOAK_SEQUENCE ?=
.PHONY: soak
soak: deps build labctl
	$(MAKE) install-deb
	$(LABCTL) soak -agents "$(FAULT_AGENTS)" -duration $(DURATION) -seed $(SEED) -sequence "$(SOAK_SEQUENCE)" -results $(FAULT_RESULTS_DIR)

# Mutation testing (issue #10): each safety bug listed in test/mutants/mutations.go is planted
# in a copy of the tree and the suites run against it (the lab is skipped); any survivor fails.
# Root and PostgreSQL are needed (acceptance tests); about 1-5 minutes a mutant.
.PHONY: mutants
mutants: deps
	$(GO) run ./test/mutants
