# Loa Xã: the two set-up commands are `make demo` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

.PHONY: demo test soak bench corpus-baseline system-deps system-deps-test venv venv-test clean

demo: system-deps venv
	$(VENV)/bin/loaxa demo

# Most tests wait on real events (plays at real instants, brokers, browsers), not on the CPU,
# so four workers fit two cores; each test file stays on one worker, and the file expected to
# take longest is handed out first (tests/support/scheduling.py: the last full run's seconds
# per file from .pytest_cache, else its table), so no slow file starts near the end.
PYTEST_WORKERS ?= 4

test: system-deps-test venv-test
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

# Not part of make test: the province-day simulation (a compressed day of SOAK_DAY_S seconds
# with SOAK_AGENTS real agents and SOAK_SIMS simulated devices under SOAK_COMMUNES commune
# brokers, faults on a timetable; its report goes to bench/province_day.md and its keys
# soak_events_lost and soak_plays_missed to bench/results.json), then the long variants of the
# broker-tree fault tests: a commune's link down for the field figure of 10 minutes, a bridge
# flapping for 2 minutes.
SOAK_DAY_S ?= 600
SOAK_COMMUNES ?= 3
SOAK_AGENTS ?= 30
SOAK_SIMS ?= 1000
SOAK_LINK_DOWN_S ?= 600
SOAK_FLAP_S ?= 120

soak: system-deps-test venv-test
	PYTHONPATH=$(CURDIR):$(CURDIR)/tests $(PY) -m support.province_day --day-s $(SOAK_DAY_S) \
		--communes $(SOAK_COMMUNES) --agents $(SOAK_AGENTS) --sims $(SOAK_SIMS)
	LOAXA_LINK_DOWN_S=$(SOAK_LINK_DOWN_S) LOAXA_FLAP_S=$(SOAK_FLAP_S) \
		$(PY) -m pytest -n 2 --dist loadfile --timeout 1800 tests/province $(PYTEST_ARGS)

bench: system-deps venv-test
	$(PY) -m bench

# After a meant change to cleaning or normalization: rewrite the spoken baseline of the
# fixture documents, then review and commit the diff with the change.
corpus-baseline: venv
	$(PY) -m loaxa corpus check tests/data/documents --baseline tests/data/documents/spoken --update

system-deps:
	./scripts/install-system-deps.sh

system-deps-test:
	./scripts/install-system-deps.sh --test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[controller]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e '.[controller,test]'
	touch $@

venv: $(VENV)/.installed

venv-test: $(VENV)/.installed-test

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
