# `make run` and `make test` work on a fresh machine with only python3, make and pip:
# each creates .venv and installs the project (pinned by constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

GRAPHIQL := graphiql/node_modules/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# GraphiQL's assets come from the npm registry at install time (pinned by the lockfile) and
# are served by the API itself. Without npm the page falls back to a pinned CDN with SRI.
$(GRAPHIQL): graphiql/package.json graphiql/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix graphiql --no-audit --no-fund --silent && touch $(GRAPHIQL); \
	else \
		echo "npm not found: GraphiQL will load its assets from a CDN"; \
	fi

run: $(STAMP) $(GRAPHIQL)
	$(BIN)/healthcontent migrate
	$(BIN)/healthcontent seed
	$(BIN)/healthcontent serve --host 127.0.0.1 --port 8000

test: $(STAMP) $(GRAPHIQL) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/seed_load.py

clean:
	rm -rf $(VENV) var graphiql/node_modules
