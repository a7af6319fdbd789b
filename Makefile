# slavc-lite: the two commands are `make run` (the collection's main job) and `make test`.
# Both create .venv on first use from nothing but Python 3.10+ and the package registries.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch, torchvision and torchaudio must come as a matching triple.
TORCH_PACKAGES ?= torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0
EXTRAS ?= video,weights,notebooks,dev
STAMP  := $(VENV)/.slavc-lite-installed

.PHONY: help install test lint run lab student bench clean

help:
	@echo "make run    - the main job (see README)"
	@echo "make test   - lint and run the test suite"
	@echo "make lab    - open JupyterLab on notebooks/"
	@echo "make student - write the student edition (solutions stripped) to build/student/"
	@echo "make bench  - run the benchmark scripts"
	@echo "make clean  - remove build/ outputs (keeps .venv)"

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet $(TORCH_PACKAGES)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check slavc_lite tests benchmarks experiments assets notebooks

test: lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

run: $(STAMP)
	$(BIN)/python -m slavc_lite.teaching.run_all

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

student: $(STAMP)
	$(BIN)/python -m slavc_lite.teaching.student notebooks build/student

bench: $(STAMP)
	$(BIN)/python benchmarks/run_benchmarks.py

clean:
	rm -rf build
