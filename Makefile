# The README's two commands:  `make report` (main job on the embedded default)  and  `make test`.
# Both create .venv on first use, install the CPU build of PyTorch first (so no CUDA build is pulled),
# then the project with its test extras.
PY      ?= python3.11
VENV    ?= .venv
BIN     := $(VENV)/bin
REPORT  ?= report
# the main job's size: measured 55.8 min on an idle 2-core machine, over the 30-minute budget (see the README)
REPORT_FLAGS ?= --seeds 3 --simple-seeds 1 --n-top 250

.PHONY: install report test layers bench-deps

$(BIN)/regsim: pyproject.toml
	@command -v bedtools >/dev/null || (apt-get install -y bedtools || (apt-get update && apt-get install -y bedtools))
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	touch $(BIN)/regsim

install: $(BIN)/regsim

report: install
	$(BIN)/regsim benchmark --out $(REPORT) $(REPORT_FLAGS)

# The import-layer contract (foundation <- dataset_builder <- models <- benchmark); also part of `test`.
layers: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_layers.py

test: install
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest -q tests

# Benchmarks against peer tools (need the peers: `make bench-deps` installs them).
bench-deps: install
	$(BIN)/pip install -q cython
	$(BIN)/pip install -q --no-build-isolation ushuffle==1.1.2
	$(BIN)/pip install -q --no-deps deeplift==0.6.13.0
