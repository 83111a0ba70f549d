# kaspisync — two commands from a fresh clone: `make run`, `make test` (and `make bench`).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test bench venv test-deps migrate

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PIP) install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

test-deps: $(VENV)/.installed-test

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runserver 127.0.0.1:8000

test: test-deps
	$(PY) -m pytest

bench: test-deps
	@echo "no benchmarks yet"
