# `make run` and `make test` work on a fresh machine with only python3, make and pip:
# each creates .venv and installs the project (pinned by constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck schema format bench graphiql wheel clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/healthcontent migrate
	$(BIN)/healthcontent seed
	$(BIN)/healthcontent serve --host $(HOST) --port $(PORT)

test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

typecheck: $(STAMP)
	$(BIN)/mypy

# The SDL in schema/schema.graphql is generated: run this after changing a GraphQL type or field.
schema: $(STAMP)
	$(BIN)/healthcontent schema > schema/schema.graphql

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/seed_load.py

# GraphiQL's builds are vendored in api/static/graphiql/. This refreshes them from npm after
# a version change in graphiql/package.json (then update the hashes in api/graphiql.py).
graphiql:
	npm ci --prefix graphiql --no-audit --no-fund
	cp graphiql/node_modules/react/umd/react.production.min.js \
	   graphiql/node_modules/react-dom/umd/react-dom.production.min.js \
	   graphiql/node_modules/graphiql/graphiql.min.css \
	   graphiql/node_modules/graphiql/graphiql.min.js api/static/graphiql/

# The wheel (with GraphiQL's assets and the seed content inside) goes to dist/.
wheel: $(STAMP)
	rm -rf build  # setuptools would pack stale files left there by an earlier build
	$(BIN)/python -m pip wheel --no-deps --quiet -w dist .

clean:
	rm -rf $(VENV) var graphiql/node_modules examples/node_modules examples/generated dist build
