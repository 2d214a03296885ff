# The commands README shows. Everything installs into .venv, made on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The modules held to mypy --strict (the content pipeline and the commands over it).
STRICT := src/postcli/issues src/postcli/markdown.py src/postcli/render src/postcli/check \
	src/postcli/preview src/postcli/build.py src/postcli/workspace.py src/postcli/limits.py \
	src/postcli/net.py $(filter-out src/postcli/cli/send.py src/postcli/cli/status.py, \
	$(wildcard src/postcli/cli/*.py))
DEMO_ISSUES := 2026-12-01-china-ai-global 2026-12-08-open-weights-week

.PHONY: install install-test demo test lint format bench golden caniemail clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	@for issue in $(DEMO_ISSUES); do $(BIN)/postcli build $$issue || exit $$?; done
	@for issue in $(DEMO_ISSUES); do $(BIN)/postcli send $$issue --yes --now || exit $$?; done
	@echo "Open build/<issue>/free.html and premium.html in a browser, outbox/<issue>/*.eml in a mail client."

test: install-test
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/mypy --strict $(STRICT)

format: install-test
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install-test
	$(BIN)/python -m bench

golden: install-test
	$(BIN)/python -m pytest tests/test_golden.py tests/test_help_text.py tests/test_site_golden.py --update-golden

# Regenerate the email-client support data from a caniemail checkout: make caniemail CANIEMAIL=../caniemail
caniemail: install-test
	@test -n "$(CANIEMAIL)" || { echo "usage: make caniemail CANIEMAIL=path/to/caniemail"; exit 2; }
	$(BIN)/python scripts/gen_caniemail.py "$(CANIEMAIL)"

clean:
	rm -rf build outbox site site-drafts .pytest_cache .hypothesis
