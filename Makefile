# `make demo` and `make test` do all the set-up on a fresh machine: each creates .venv and installs
# what it needs. Nothing here needs the network beyond the Python package index.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test test-pythons lint typecheck pytest bench samples dist clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-deps: pyproject.toml | $(PY)
	$(PIP) -e '.[asr,cli]'
	@touch $@

$(VENV)/.dev-deps: pyproject.toml | $(PY)
	$(PIP) -e '.[asr,cli,dev]'
	@touch $@ $(VENV)/.demo-deps

demo: $(VENV)/.demo-deps
	$(PY) -m speech_async.demo

test: $(VENV)/.dev-deps lint typecheck pytest

lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.dev-deps
	$(VENV)/bin/pyright

pytest: $(VENV)/.dev-deps
	$(PY) -m pytest

# The test suite on every other supported Python found on this machine (3.10, 3.12, 3.13), each in its own venv.
test-pythons:
	@for v in 3.10 3.12 3.13; do \
		if command -v python$$v >/dev/null 2>&1; then \
			echo "== Python $$v"; \
			python$$v -m venv .venv-$$v && .venv-$$v/bin/python -m pip install --quiet --disable-pip-version-check -e '.[asr,cli,dev]' \
			&& .venv-$$v/bin/python -m pytest -q -p no:cacheprovider || exit 1; \
		fi; \
	done

bench: $(VENV)/.dev-deps
	$(PY) -m benchmarks.upload_memory
	$(PY) -m benchmarks.soak
	$(PY) -m benchmarks.token_cache

# The wheel and the sdist in dist/ (hatchling from the dev extra: no build isolation, no download).
dist: $(VENV)/.dev-deps
	$(PY) -m build --no-isolation --sdist --wheel --outdir dist .

# Regenerates the bundled speech samples (needs espeak-ng and sox from Debian's packages).
samples:
	bash speech_async/demo/samples/make_samples.sh

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .ruff_cache dist
