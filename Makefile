# The README's two commands: `make demo` and `make test`. Everything installs from pyproject.toml into .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint test-slow bench install clean axe

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kalkan brief

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy --strict src

# axe-core from npm for the accessibility tests, pinned with its integrity hash in package-lock.json
# (tests/register/browser/test_a11y_pages.py; nothing of it is shipped).
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $(AXE)

axe: $(AXE)

test: lint $(AXE)
	$(BIN)/pytest -q -n 2

# The slow tests; with Debian's postgresql installed, on a throwaway cluster too (.ci/postgres.sh).
test-slow: $(STAMP) $(AXE)
	bash -c 'source .ci/postgres.sh; if ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then start_postgres; trap stop_postgres EXIT; fi; $(BIN)/pytest -q -m slow'

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	for b in bench/*.py; do case $$b in bench/_*) ;; *) echo "== $$b"; $(BIN)/python $$b || exit 1;; esac; done

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache node_modules
