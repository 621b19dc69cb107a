# The two commands of the README: `make run` and `make test`. Each sets up .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.ganbench-installed

.PHONY: run test test-fast gate bench clean-results

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	# torch/torchvision pinned to the releases that install from this machine's local files (~1 min).
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job: every loss on ring8-wide, 8 batched seeds each (the quick suite), then the leaderboard.
run: $(STAMP)
	$(VENV)/bin/ganbench run quick
	$(VENV)/bin/ganbench report results/quick --format md,html,csv --metric hq_fraction

# All tests, slow end-to-end ones included; benchmarks run once each (timing off).
test: $(STAMP)
	$(PY) -m pytest -q --durations=15

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# The project's own FID regression gate (also run by .ci/run).
gate: $(STAMP)
	$(VENV)/bin/ganbench check ci --baseline results/baselines/ci.json --out results/ci-gate

bench: $(STAMP)
	$(VENV)/bin/ganbench bench --device cpu

clean-results:
	rm -rf results/quick results/ci results/ci-gate
