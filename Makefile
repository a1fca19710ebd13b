# One command per habit. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000

.PHONY: demo test lint compose-test bench bench-sandbox bench-estimate bench-collect bench-web bench-recommend bench-api sandbox clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Installs are stamped on pyproject.toml, so a dependency change reinstalls and nothing else does.
$(VENV)/.installed-sandbox: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[sandbox]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-sandbox

## demo: set up everything and run the product on SQLite with a simulated AWS at http://127.0.0.1:$(PORT)
demo: $(VENV)/.installed-sandbox
	$(PY) manage.py migrate --no-input
	$(PY) manage.py demo_setup
	PORT=$(PORT) $(PY) manage.py demo

## test: the whole suite (PostgreSQL when DATABASE_URL points there; Redis at 127.0.0.1:6379)
test: $(VENV)/.installed-dev
	$(PY) -m pytest

## lint: ruff (rules and formatting), mypy on estimator/ (strict, no Django there) and collectors/ (django-stubs), the import contracts, the production settings' deployment checks (no database needed)
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check --no-cache .  # no cache: a stale entry once hid an unformatted file
	@! grep -rn --include=*.py "django" estimator/ || (echo "estimator/ must not import Django"; exit 1)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	DJANGO_ENV=production ALLOWED_HOSTS=example.com \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(45))')" \
	$(PY) manage.py check --deploy --fail-level WARNING

## format: ruff format over the tree and sorted imports (rewrites files; `make lint` and CI check both)
.PHONY: format
format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix --select I .

## compose-test: docker-compose.yml for real (images built locally, stand-in bases; see compose/README.md)
compose-test:
	$(PYTHON) compose/test.py

## sandbox: only the simulated AWS with the demo fleet (AWS_ENDPOINT_URL=http://127.0.0.1:5055)
sandbox: $(VENV)/.installed-sandbox
	$(PY) -m sandbox --port 5055

## bench: every benchmark; each prints its figures (targets are in the benchmark, never in timed tests)
bench: bench-sandbox bench-estimate bench-collect bench-web bench-recommend bench-api

bench-sandbox: $(VENV)/.installed-dev
	$(PY) bench/bench_sandbox.py

bench-estimate: $(VENV)/.installed-dev
	$(PY) bench/bench_estimate.py

bench-collect: $(VENV)/.installed-dev
	$(PY) bench/bench_collect.py

# PostgreSQL at 127.0.0.1:5432 (or DATABASE_URL); loads database wattson_bench_web once a day (~6 min), then reuses it
bench-recommend: $(VENV)/.installed-dev
	$(PY) bench/bench_recommend.py

bench-web: $(VENV)/.installed-dev
	$(PY) bench/bench_web.py

# Same data set as bench-web; starts gunicorn (2 workers) on loopback; load run with wrk if installed
# (apt-get install wrk), else a Python fallback; the year-long CSV export streams for up to 10 min
bench-api: $(VENV)/.installed-dev
	$(PY) bench/bench_api.py

clean:
	rm -rf var/ .pytest_cache test-artifacts
