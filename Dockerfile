# syntax=docker/dockerfile:1
# The healthcontent API image: `docker build -t healthcontent .`, or `docker compose up --build`.
# Configuration comes only from the environment (DATABASE_URL, REDIS_URL, SITE_URL, ... as in
# the README's table); the image holds no database and no secrets.
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: the project's wheel plus a wheel of every dependency, at constraints.txt's pins.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the wheel is built from (pyproject reads README.md as the long description), so
# an edit to tests or docs does not rebuild anything.
COPY pyproject.toml constraints.txt README.md ./
COPY schema ./schema
COPY api ./api
COPY seed_data ./seed_data
# The cache mount keeps downloads between builds without putting them in a layer.
RUN --mount=type=cache,target=/root/.cache/pip \
    python -m pip wheel --constraint constraints.txt --wheel-dir /wheels .

# --- runtime: a virtualenv with the wheels installed, and nothing to build them with.
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
# The wheels and the pins are mounted for this one step, never copied into a layer. The venv
# gets no pip of its own: the base image's pip installs into it (--python).
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,source=constraints.txt,target=/tmp/constraints.txt \
    python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install --no-index --find-links /wheels \
        --constraint /tmp/constraints.txt healthcontent \
    && healthcontent --help >/dev/null

# An unprivileged user owning its working directory: the default SQLite database
# (./var/content.db) and a .env file, if any, live here. Compose uses PostgreSQL instead.
RUN groupadd --system --gid 10001 healthcontent \
    && useradd --system --uid 10001 --gid healthcontent --home-dir /app --create-home \
        --shell /usr/sbin/nologin healthcontent
WORKDIR /app
USER 10001:10001

EXPOSE 8000
# Ready means the database answers (/readyz is 503 otherwise). The slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
# WORKERS processes (default 2) share port 8000. `exec` replaces the shell with uvicorn, so
# `docker stop`'s SIGTERM reaches it and it stops its workers gracefully.
CMD ["sh", "-c", "exec healthcontent serve --host 0.0.0.0 --port 8000 --workers \"${WORKERS:-2}\""]
