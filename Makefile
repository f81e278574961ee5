# Two commands: `make demo` builds the sample digest offline; `make test` runs the tests.
# Both make their own virtualenv (.venv) with only python3 needed on the machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The install compiles these (hatch_build.py): a change to them means installing again.
BUILT := hatch_build.py digest/text/_stems.c

.PHONY: demo test lint bench clean

demo: $(VENV)/.installed
	$(BIN)/digest build --config config.yaml
	@echo "open out/digest.html in a browser; out/digest.txt is the plain-text part"

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy digest
	$(BIN)/python -m pytest
	DIGEST_TEST_DATABASE=postgresql $(BIN)/python -m pytest  # again, the state on PostgreSQL

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/summaries.py
	$(BIN)/python benchmarks/summary_grid.py
	$(BIN)/python benchmarks/extraction.py
	$(BIN)/python benchmarks/segmentation.py
	$(BIN)/python benchmarks/realfeeds.py
	$(BIN)/python benchmarks/hostile.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/serve.py  # needs Debian's wrk (apt-get install wrk)
	$(BIN)/python benchmarks/send.py
	$(BIN)/python benchmarks/cluster.py  # needs Debian's postgresql and wrk

$(VENV)/bin/pip:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip  # pip 23.2's resolver trips on some extras

$(VENV)/.installed: $(VENV)/bin/pip pyproject.toml $(BUILT)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/pip pyproject.toml $(BUILT)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: $(VENV)/bin/pip pyproject.toml $(BUILT)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed

clean:
	rm -rf $(VENV) out digest.sqlite3*
