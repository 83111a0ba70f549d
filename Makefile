# kaspisync — two commands from a fresh clone: `make run`, `make test` (and `make bench`).
# Only Python 3.11+ is needed; the virtualenv lives in .venv/, runtime state in var/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: run test test-quick bench venv test-deps lint format messages

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "kaspisync needs Python 3.11+ (run: make PYTHON=python3.11 ...)" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PIP) install -q -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

test-deps: $(VENV)/.installed-test

# Web (gunicorn), Celery worker and Celery beat as separate processes (+ the API sandboxes when
# no tokens are set); Ctrl-C stops them all. PORT=8000 by default.
run: venv
	$(PY) -m kaspisync.launcher

# The whole suite twice: embedded default, then PostgreSQL + Redis (see scripts/test.sh),
# after the linter and the formatter check (configured in pyproject.toml).
test: test-deps lint
	scripts/test.sh

# While working: the embedded stack only, without the tests marked `slow` (browser, worker
# processes, crash recovery, mixed faults, make run; see README "Tests"). Not a substitute for `make test`.
test-quick: test-deps lint
	KASPISYNC_ENV_FILE=/dev/null env -u DATABASE_URL -u CELERY_BROKER_URL \
		$(PY) -m pytest -q -p no:cacheprovider -m "not slow" $(ARGS)

lint: test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Fix what ruff can fix and format the code.
format: test-deps
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Every bench/bench_*.py in turn; never part of `make test`.
bench: venv
	$(PY) bench/run_all.py

# Russian catalogs after a change of wording: every app's and locale/ (templates) at once, without
# losing a translation when a string moves (kaspisync/management/commands/makemessages.py).
messages: venv
	$(PY) manage.py makemessages -l ru
	$(PY) manage.py compilemessages -l ru --ignore=.venv --ignore=var
