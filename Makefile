# justif — two commands on a fresh Debian machine:
#   make run    set-up + the service on its embedded defaults (http://127.0.0.1:5000)
#   make test   set-up + the whole suite (unit, OCR, PostgreSQL, Redis/Celery, Chromium)
# Both are idempotent: apt packages are installed only when missing, the venv only
# when pyproject.toml changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_RUN := tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng libmagic1 fonts-dejavu-core fonts-liberation
APT_TEST := postgresql redis-server chromium fonts-ocr-b
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup system-deps test-deps lint audit clean

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

system-deps:
	$(call apt_install,$(APT_RUN))

test-deps:
	$(call apt_install,$(APT_TEST))

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

setup: system-deps $(STAMP)

run: setup
	$(BIN)/justif init-db
	$(BIN)/justif demo
	$(BIN)/justif serve --host $(HOST) --port $(PORT)

# the whole suite on SQLite, then the database-facing tests again on a real PostgreSQL
# server that the test session starts (tests/services.py)
PG_TESTS := tests/web tests/test_revalidate.py tests/test_retention.py tests/test_celery.py \
	tests/test_crash.py

test: setup test-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest
	JUSTIF_TEST_DB=postgresql $(BIN)/python -m pytest -q -m "not browser" $(PG_TESTS)

audit: $(STAMP)
	$(BIN)/python .ci/audit.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
