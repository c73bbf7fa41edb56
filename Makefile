# Loa Xã: the two set-up commands are `make demo` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

.PHONY: demo test soak bench corpus-baseline system-deps system-deps-test venv venv-test clean

demo: system-deps venv
	$(VENV)/bin/loaxa demo

# Most tests wait on real events (plays at real instants, brokers, browsers), not on the CPU,
# so four workers fit two cores; each test file stays on one worker.
PYTEST_WORKERS ?= 4

test: system-deps-test venv-test
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The long variants of the broker-tree fault tests (not part of make test): a commune's link
# down for the field figure of 10 minutes, a bridge flapping for 2 minutes.  The province-day
# simulation will join this target.
SOAK_LINK_DOWN_S ?= 600
SOAK_FLAP_S ?= 120

soak: system-deps-test venv-test
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
