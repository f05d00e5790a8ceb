# `make demo` and `make test` do all the set-up on a fresh machine: each creates .venv and installs
# what it needs. Nothing here needs the network beyond the package registries (PyPI, and npm for Azurite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# The blob-storage emulator the tests of speech_async.blob run against (tests/support/azurite.py).
# 3.35.0 is the newest release whose `engines` accepts Node 20; 3.36+ declare Node >= 21/22.
AZURITE_VERSION := 3.35.0
AZURITE := .azurite
AZURITE_STAMP := $(AZURITE)/.installed-$(AZURITE_VERSION)

.PHONY: demo test test-pythons lint typecheck pytest azurite bench samples dist clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-deps: pyproject.toml | $(PY)
	$(PIP) -e '.[asr,cli,blob]'
	@touch $@

$(VENV)/.dev-deps: pyproject.toml | $(PY)
	$(PIP) -e '.[asr,cli,dev,blob]'
	@touch $@ $(VENV)/.demo-deps

# One stamp per version, so changing AZURITE_VERSION reinstalls; needs node and npm on PATH.
$(AZURITE_STAMP):
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: install Node.js 20+ with npm to run the Azurite tests" >&2; exit 1; }
	rm -rf $(AZURITE)
	npm install --prefix $(AZURITE) --no-audit --no-fund --loglevel=error azurite@$(AZURITE_VERSION)
	@touch $@

azurite: $(AZURITE_STAMP)

# With npm, Azurite is installed too, for the demo's blob-container leg (the demo says what it lacks).
demo: $(VENV)/.demo-deps
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory azurite \
		|| echo "Azurite could not be installed: the demo skips its blob-container leg"; fi
	$(PY) -m speech_async.demo

test: $(VENV)/.dev-deps lint typecheck pytest

lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.dev-deps
	$(VENV)/bin/pyright

pytest: $(VENV)/.dev-deps $(AZURITE_STAMP)
	$(PY) -m pytest

# The test suite on every other supported Python found on this machine (3.10, 3.12, 3.13), each in its own venv.
test-pythons: $(AZURITE_STAMP)
	@for v in 3.10 3.12 3.13; do \
		if command -v python$$v >/dev/null 2>&1; then \
			echo "== Python $$v"; \
			python$$v -m venv .venv-$$v && .venv-$$v/bin/python -m pip install --quiet --disable-pip-version-check -e '.[asr,cli,dev,blob]' \
			&& .venv-$$v/bin/python -m pytest -q -p no:cacheprovider || exit 1; \
		fi; \
	done

# Every benchmark, each printing its figures as ratios to a baseline measured in the same run (JSON in
# benchmarks/results/). The defaults take about 6 minutes on a 2-core box; `make bench QUICK=1` is a smoke
# run (tiny sizes, one repetition) of a minute or two, as CI would do it.
bench: $(VENV)/.dev-deps $(AZURITE_STAMP)
	$(PY) -m benchmarks.request_cpu $(if $(QUICK),--quick)
	$(PY) -m benchmarks.short_audio_cpu $(if $(QUICK),--quick,--repetitions 2)
	$(PY) -m benchmarks.decode $(if $(QUICK),--quick,--repetitions 2)
	$(PY) -m benchmarks.loop_lag $(if $(QUICK),--quick,--repetitions 2)
	$(PY) -m benchmarks.upload_sources $(if $(QUICK),--quick)
	$(PY) -m benchmarks.upload_memory $(if $(QUICK),--size-mib 16)
	$(PY) -m benchmarks.batch_memory $(if $(QUICK),--size-mib 16 --files 10)
	$(PY) -m benchmarks.soak $(if $(QUICK),--calls 100)
	$(PY) -m benchmarks.token_cache $(if $(QUICK),--hours 0.5)
	$(PY) -m benchmarks.bulk $(if $(QUICK),--files 100 --repetitions 1)

# The wheel and the sdist in dist/ (hatchling from the dev extra: no build isolation, no download).
dist: $(VENV)/.dev-deps
	$(PY) -m build --no-isolation --sdist --wheel --outdir dist .

# Regenerates the bundled speech samples (needs espeak-ng and sox from Debian's packages).
samples:
	bash speech_async/demo/samples/make_samples.sh

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .ruff_cache dist $(AZURITE)
