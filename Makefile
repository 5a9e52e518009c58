# Hooksmith: `make run` serves on 127.0.0.1:50051, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROTOS := proto/hooksmith/v1/webhooks.proto

.PHONY: run test lint proto proto-check bench migrate clean

# The virtualenv is rebuilt when either pyproject changes.
$(BIN)/.installed: pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./client -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/hooksmith-server serve

migrate: $(BIN)/.installed
	$(BIN)/hooksmith-server migrate

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd proto && ../$(BIN)/buf lint

# Generated code lives in client/hooksmith/v1 and is committed.
proto: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m grpc_tools.protoc -Iproto \
		--python_out=client --grpc_python_out=client \
		--mypy_out=client --mypy_grpc_out=client \
		$(PROTOS)

# Fails when the committed generated code differs from what `make proto` makes.
proto-check: proto
	git diff --exit-code -- client/hooksmith/v1
	@test -z "$$(git status --porcelain -- client/hooksmith/v1)" || \
		(git status --porcelain -- client/hooksmith/v1; echo "untracked generated files"; exit 1)

bench: $(BIN)/.installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
