# Development tasks for github.com/breakerlabs/breaker.
#
#   make test     race-enabled tests of every package in this module
#   make bench    docs/ARCHITECTURE.md §7 benchmarks: the library alone and side by side with
#                 peers (bench/, its own module), -count 10, benchstat tables
#   make bench-report  bench/RESULTS.md and its chart from the last `make bench`
#   make bench-profile CPU and scheduler profiles behind the targets
#   make bench-scale   memory, creation, GC, timers, Metrics and scrapes at
#                 1k/10k/100k/1M breakers (bench/scale.sh)
#   make lint     gofmt, go vet and staticcheck
#   make fuzz     each fuzz target for FUZZTIME (default 30s)
#   make cover    coverage profile (cover.out) and a per-function summary
#   make demo     the live demo: a flaky backend, protected traffic, events
#   make demo-fleet three instances sharing breaker state on Redis (starts a
#                 private redis-server on a free port; REDIS_ADDR to use one)
#   make stress   the race and differential suites, scaled up (STRESS, default 20)
#   make mutation the suite against each seeded bug (scripts/mutants/*.patch,
#                 applied in a temporary worktree); every one must be caught
#
# ./... stays inside one module: nested modules (bench/, and any module listed
# in MODULES) are tested and linted by their own loop below.

GO          ?= go
FUZZTIME    ?= 30s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
COVERPROFILE ?= cover.out

STRESS      ?= 20

# Nested modules with their own go.mod, tested and linted like the root.
# bench/ is linted but its tests are the benchmarks (make bench).
MODULES     ?= breakerredis breakerotel

.PHONY: test bench bench-report bench-profile bench-scale lint fuzz cover demo demo-fleet stress mutation

test:
	$(GO) test -race -count=1 ./...
	@set -e; for m in $(MODULES); do \
		echo "== $$m"; (cd $$m && $(GO) test -race -count=1 ./...); \
	done

# COUNT (10), BENCHTIME (100ms) and TRIPTIME (2000x) pass through the
# environment: COUNT=3 make bench. About 4-7 minutes on 2 cores.
bench:
	bench/run.sh

bench-report:
	bench/report.sh

bench-profile:
	bench/profile.sh

bench-scale:
	bench/scale.sh

lint:
	@files="$$(gofmt -l .)"; \
	if [ -n "$$files" ]; then \
		echo "gofmt: these files are not formatted (run gofmt -w):"; \
		echo "$$files"; \
		exit 1; \
	fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd bench && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	@set -e; for m in $(MODULES); do \
		echo "== lint $$m"; (cd $$m && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); \
	done

# Discovers the fuzz targets of every package with `go test -list` and runs
# each one on its own (go test -fuzz accepts one target at a time).
fuzz:
	@set -e; \
	for pkg in $$($(GO) list ./...); do \
		list=$$($(GO) test -list '^Fuzz' "$$pkg"); \
		for target in $$(printf '%s\n' "$$list" | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target (fuzztime $(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

cover:
	$(GO) test -count=1 -covermode=atomic -coverpkg=./... -coverprofile=$(COVERPROFILE) ./...
	$(GO) tool cover -func=$(COVERPROFILE)

demo:
	$(GO) run ./cmd/breakerdemo

REDIS_ADDR ?=
demo-fleet:
	cd breakerredis && $(GO) run ./cmd/fleetdemo $(if $(REDIS_ADDR),-addr $(REDIS_ADDR))

# Heavier than `make test`: the stress tests run STRESS times longer and the
# differential test checks 50x more random scripts, all under -race.
stress:
	BREAKER_STRESS=$(STRESS) $(GO) test -race -count=1 -timeout 30m -run 'Race|Stress' .
	$(GO) test -race -count=1 -timeout 30m -run 'TestDifferential$$' . -rapid.checks=5000

mutation:
	scripts/mutation.sh
