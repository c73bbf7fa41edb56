# Loa Xã: the two set-up commands are `make demo` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

.PHONY: demo test bench system-deps system-deps-test venv venv-test clean

demo: system-deps venv
	$(VENV)/bin/loaxa demo

test: system-deps-test venv-test
	$(PY) -m pytest $(PYTEST_ARGS)

bench: system-deps venv-test
	$(PY) -m bench

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
