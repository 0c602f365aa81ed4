# The README's commands: `make run` (serve the demo portal) and `make test` (the whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1:8000

.PHONY: run test lint format bench bench-pg messages sysdeps install

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

install: sysdeps $(VENV)/.installed

sysdeps:
	@bash scripts/sysdeps.sh

# First start: a generated SECRET_KEY in .env (never committed), and DEMO_MODE=true so the
# seed_demo accounts sign in without a second factor (production never sets it).
.env:
	@echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "DEMO_MODE=true" >> .env
	@echo "Wrote .env with a generated SECRET_KEY and DEMO_MODE=true"

run: install .env
	@grep -q '^DEMO_MODE=' .env || echo "DEMO_MODE=true" >> .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST)

test: install
	SECRET_KEY=$${SECRET_KEY:-test-only-secret-key} $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l en --ignore=.venv
	$(PY) manage.py compilemessages --ignore=.venv

# Benchmarks print their figures with a baseline measured in the same run.
# `bench`: the ones that need no PostgreSQL; `bench-pg`: the large-data ones, each in its own
# PostgreSQL database (PG_URL, default the local server) that is created and filled first.
# Both work on a fresh clone: bench_forms prints the seed_demo applications, bench_persons
# requests pages whose templates need the collected (hashed) static files.
# bench_clearing defaults to the issue's 2,000,000 persons / 10,000,000 settlements; a smaller
# run: `make bench-pg BENCH_CLEARING_ARGS="--persons 400000 --settlements 2000000"`.
PG_URL ?= postgres://postgres@127.0.0.1:5432
BENCH_CLEARING_ARGS ?=
bench: install .env
	$(PY) manage.py bench_engine
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed_demo > /dev/null
	$(PY) manage.py bench_forms --count 100

bench-pg: install .env
	$(PY) manage.py collectstatic --noinput -v 0
	for db in medaid_bench_persons medaid_bench_funds medaid_bench_monitoring medaid_bench_clearing; do \
	  psql "$(PG_URL)/postgres" -tc "SELECT 1 FROM pg_database WHERE datname='$$db'" | grep -q 1 || \
	  psql "$(PG_URL)/postgres" -c "CREATE DATABASE $$db"; \
	  DATABASE_URL=$(PG_URL)/$$db $(PY) manage.py migrate --noinput -v 0; done
	DATABASE_URL=$(PG_URL)/medaid_bench_persons $(PY) manage.py shell -c \
	  "from beneficiaries.models import Person; import sys; sys.exit(Person.objects.count() >= 1000000)" \
	  && DATABASE_URL=$(PG_URL)/medaid_bench_persons $(PY) manage.py generate_persons --count 1000000 || true
	DATABASE_URL=$(PG_URL)/medaid_bench_persons $(PY) manage.py bench_persons
	DATABASE_URL=$(PG_URL)/medaid_bench_funds $(PY) manage.py bench_funds
	DATABASE_URL=$(PG_URL)/medaid_bench_monitoring $(PY) manage.py bench_monitoring
	DATABASE_URL=$(PG_URL)/medaid_bench_clearing $(PY) manage.py bench_clearing $(BENCH_CLEARING_ARGS)
