# The two commands of the README's quick start: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: secrets run test lint bench bench-bin docs deps runtime-deps system-deps stack-bin clean screenshots fleet

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# What running needs (`make run`): the package and its runtime dependencies only (~66 MB).
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip check
	touch $@

# What the tests and benchmarks add (`make test`, `make lint`, ...): the test and bench extras on top.
$(VENV)/.installed: $(VENV)/.runtime
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/pip check
	touch $@

runtime-deps: $(VENV)/.runtime
deps: $(VENV)/.installed

## run the agent with its embedded defaults: JSONL in ./data, /metrics and /health on 127.0.0.1:9464
## (installs the runtime only; `make test` adds the test and benchmark tools)
run: runtime-deps
	$(BIN)/otel-mon run $(ARGS)

## Debian packages the integration tests drive for real (installed when missing and we are root)
system-deps:
	@missing=""; \
	for pair in prometheus:prometheus promtool:prometheus prometheus-node-exporter:prometheus-node-exporter \
	            prometheus-alertmanager:prometheus-alertmanager amtool:prometheus-alertmanager \
	            prometheus-blackbox-exporter:prometheus-blackbox-exporter chromium:chromium wrk:wrk \
	            faketime:faketime systemd-analyze:systemd dbus-daemon:dbus-daemon; do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (their integration tests will skip)"; fi; \
	fi
	@# The icmp probe uses unprivileged ICMP echo sockets; let root's group open them so its test runs.
	@if [ "$$(id -u)" = 0 ] && [ -w /proc/sys/net/ipv4/ping_group_range ] && \
	   [ "$$(cut -f1 /proc/sys/net/ipv4/ping_group_range)" != 0 ]; then \
	  echo "allowing ICMP echo sockets for group 0 (net.ipv4.ping_group_range=0 0)"; \
	  echo "0 0" > /proc/sys/net/ipv4/ping_group_range || true; \
	fi

## the real peers (Collector, Prometheus 3, Alertmanager, exporters) from pinned Go modules into build/stack/bin/
## (deploy/stack/pins.txt; cached in ~/.cache/otel-mon/stack-bin/: seconds once built; cold ~see README)
stack-bin:
	$(PYTHON) deploy/stack/stack_bin.py $(STACK_ARGS)

## the benchmarks' own peers (benchmarks/bench-pins.txt: the hostmetrics Collector bench_steady compares with),
## built like stack-bin's and from the same cache into build/bench/bin/; the test suite never needs them
bench-bin:
	$(PYTHON) deploy/stack/stack_bin.py --pins benchmarks/bench-pins.txt --out build/bench/bin $(STACK_ARGS)

lint: deps
	$(BIN)/ruff check otel_mon tests benchmarks deploy
	$(BIN)/mypy
	$(BIN)/bandit -q -r otel_mon

# The secret scanner, built from its Go module at this pin (the same line as gitleaks in deploy/stack/pins.txt
# once `make stack-bin` builds it; its binary is used when present). Go's module cache makes a rebuild offline.
GITLEAKS_VERSION = v8.30.1
GITLEAKS = build/tools/bin/gitleaks

$(GITLEAKS):
	@if [ -x build/stack/bin/gitleaks ]; then mkdir -p $(@D) && cp build/stack/bin/gitleaks $@; else \
	  GOBIN=$(abspath $(@D)) go install -ldflags "-X github.com/zricethezav/gitleaks/v8/version.Version=$(GITLEAKS_VERSION)" \
	    github.com/zricethezav/gitleaks/v8@$(GITLEAKS_VERSION); fi

## a secret scan of the whole git history (gitleaks; findings are printed redacted and fail the run)
secrets: $(GITLEAKS)
	$(GITLEAKS) git --no-banner --no-color --redact .

# Line coverage of the whole suite; `make test ARGS=tests/x.py COVERAGE=` runs a part without the floor.
COVERAGE ?= --cov --cov-report=

## the whole test suite: system packages, the pinned peers (stack-bin), lint (ruff, mypy --strict, bandit), unit and integration tests with
## line coverage (the total printed; below tool.coverage.report's fail_under fails the run)
test: deps system-deps stack-bin lint secrets
	$(BIN)/python -m otel_mon.docgen --check
	$(BIN)/pytest -q -n 3 --dist loadgroup --durations=15 $(COVERAGE) $(ARGS)

## the small fleet (10 agents, 2 load balancers, 2-3 backends, Thanos Receive x3, VictoriaLogs) through every fault
## (docs/sizing.md); ends with `fleet: agents=N expected=E present=P duplicates=D rejected=R`, non-zero unless all present
fleet: deps stack-bin
	$(BIN)/python benchmarks/fleet_run.py $(ARGS)

## every benchmark; rewrites the README's tables (between <!-- bench:NAME --> markers) with the results
## (~15 min; ARGS="--quick" for a shorter smoke run, ARGS="--only steady,core" for some)
bench: deps system-deps stack-bin bench-bin
	$(BIN)/pip install --quiet -e '.[test,bench,bench-tools]'
	$(BIN)/pip check
	$(BIN)/python benchmarks/run_all.py $(ARGS)

## refresh docs/img/*.png from the headless-Chromium tests (a real agent, a real report)
screenshots: deps system-deps
	OTEL_MON_UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q tests/page -k screenshot

docs: deps
	$(BIN)/python -m otel_mon.docgen

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
