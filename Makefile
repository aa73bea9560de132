# Two set-up commands (see README): `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,parquet,datatrove,hf,mlm]'
	touch $@

demo: $(BIN)/.installed  ## restore the bundled spun sample; the word diff goes to stderr
	$(BIN)/restore fix samples/spun_article.txt --diff word

test: $(BIN)/.installed  ## lint and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed  ## speed and start-up figures (needs ../shared/corpus/dev for the dev-set run)
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
