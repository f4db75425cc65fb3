"""docker-compose.yml and the Dockerfile, tested on a machine that may have no Docker engine.

Checked here: the shape of both files (services, health checks, start order, one image for
migrate and api, an unprivileged multi-stage image installed at the pinned versions);
`docker compose config` wherever the compose plugin exists; and the very commands the migrate
and api services run, with the settings the compose file gives them, on this machine's
PostgreSQL and Redis with the project's installed `healthcontent`.
Not checked here: building the image, and anything that only happens inside a container.
"""

from __future__ import annotations

import contextlib
import fnmatch
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import yaml
from sqlalchemy.engine import make_url

from tests.conftest import PostgresDatabases, reachable_redis

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
BIN = Path(sys.executable).parent  # the project's venv: its `healthcontent` and `python`
# The served API writes its counters under a prefix of this run's own, deleted afterwards.
REDIS_PREFIX = f"hc-test-{uuid.uuid4().hex[:12]}"

REQUIRED = {"POSTGRES_PASSWORD": "not-a-default"}
ARTICLES = {"query": "{ articles(first: 10) { totalCount edges { node { url } } } }"}


# --- Compose's variable interpolation (${VAR}, ${VAR:-default}, nested defaults, $$) ---------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """`value` (a string, or lists and mappings of them) as compose resolves it with `env`."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value
    out, i = [], 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        elif value.startswith("${", i):
            end = _closing_brace(value, i + 2)
            out.append(_expression(value[i + 2 : end], env))
            i = end + 1
        elif value[i] == "$" and (name := _NAME.match(value, i + 1)):
            out.append(env.get(name[0], ""))
            i = name.end()
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    """Where the `${` opened just before `start` closes (defaults may nest `${...}`)."""
    depth, j = 1, start
    while j < len(text):
        if text.startswith("${", j):
            depth, j = depth + 1, j + 2
            continue
        if text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise ValueError(f"unclosed ${{ in {text!r}")


def _expression(expression: str, env: Mapping[str, str]) -> str:
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", expression, re.DOTALL)
    if match is None:
        raise ValueError(f"compose cannot interpolate ${{{expression}}}")
    name, operator, argument = match.groups()
    value = env.get(name)
    if operator is None:
        return value or ""
    is_set = value is not None and (value != "" or not operator.startswith(":"))
    if operator.endswith("-"):
        return value if is_set and value is not None else interpolate(argument, env)
    if operator.endswith("+"):
        return interpolate(argument, env) if is_set else ""
    if not is_set or value is None:
        raise ValueError(f"{name}: {interpolate(argument, env)}")
    return value


def test_interpolation_follows_compose() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} $SET $$SET", env) == (
        "x d  d x $SET"
    )
    assert interpolate("${UNSET:-a${SET:-b}c}/${UNSET:-${ALSO:-z}}", env) == "axc/z"
    assert interpolate("${SET:+yes}${EMPTY:+no}${EMPTY+set}", env) == "yesset"
    with pytest.raises(ValueError, match="needed"):
        interpolate("${UNSET:?needed}", env)


# --- The files' shape -------------------------------------------------------------------------


def load_compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml, anchors merged and variables resolved as with `env` (default: only
    the one it requires, POSTGRES_PASSWORD)."""
    return interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), {**REQUIRED, **(env or {})})


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def _script(service: dict[str, Any]) -> str:
    """What the service runs, as one shell line (`sh -c` unwrapped)."""
    command = _command(service)
    if command[:2] == ["sh", "-c"]:
        return command[2]
    return shlex.join(command)


def _option(command: list[str], name: str) -> str:
    assert name in command, f"{name} missing from {command}"
    return command[command.index(name) + 1]


def _health_test(service: dict[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    return list(test)


def test_the_compose_file_has_the_four_services() -> None:
    compose = load_compose()
    assert "version" not in compose  # obsolete in the compose spec
    assert set(compose["services"]) == {"db", "redis", "migrate", "api"}


def test_db_is_the_official_postgres_on_a_named_volume_checked_by_pg_isready() -> None:
    compose = load_compose()
    db = compose["services"]["db"]
    assert re.fullmatch(r"postgres:1[4-9](\.\d+)?", db["image"])  # the README asks for 14+
    volumes = [v.split(":") for v in db["volumes"]]
    assert [name for name, target in volumes if target == "/var/lib/postgresql/data"] == ["pgdata"]
    assert "pgdata" in compose["volumes"]
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"} <= set(db["environment"])
    assert "pg_isready" in " ".join(_health_test(db))


def test_redis_is_the_official_image_checked_by_ping() -> None:
    redis_service = load_compose()["services"]["redis"]
    assert re.fullmatch(r"redis:\d+(\.\d+)*", redis_service["image"])
    assert _health_test(redis_service)[1:] == ["redis-cli", "ping"]


def test_migrate_runs_once_migrating_then_seeding() -> None:
    migrate = load_compose()["services"]["migrate"]
    # `&&`: no seed on a database whose migration failed, and the job fails with it.
    assert _script(migrate) == "healthcontent migrate && healthcontent seed"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert migrate["healthcheck"] == {"disable": True}


def test_api_starts_after_healthy_db_and_redis_and_a_successful_migrate() -> None:
    api = load_compose()["services"]["api"]
    assert api["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_api_serves_on_8000_with_several_workers_and_a_readiness_check() -> None:
    api = load_compose()["services"]["api"]
    command = _command(api)
    assert command[:2] == ["healthcontent", "serve"]
    assert _option(command, "--host") == "0.0.0.0"
    assert _option(command, "--port") == "8000"
    assert int(_option(command, "--workers")) >= 2
    assert api["ports"] == ["8000:8000"]
    assert load_compose({"PORT": "9000"})["services"]["api"]["ports"] == ["9000:8000"]
    assert load_compose({"WORKERS": "5"})["services"]["api"]["command"][-1] == "5"
    assert "/readyz" in " ".join(_health_test(api))


def test_api_and_migrate_share_one_image_and_its_settings() -> None:
    services = load_compose()["services"]
    api, migrate = services["api"], services["migrate"]
    assert api["build"] == migrate["build"] == "."
    assert api["image"] == migrate["image"]
    assert api["environment"] == migrate["environment"]


@pytest.mark.parametrize(
    "env", [{}, {"POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p", "PORT": "81"}]
)
def test_settings_point_at_the_db_and_redis_services(env: dict[str, str]) -> None:
    services = load_compose(env)["services"]
    settings, db = services["api"]["environment"], services["db"]["environment"]
    url = make_url(settings["DATABASE_URL"])
    assert (url.drivername, url.host, url.port) == ("postgresql", "db", 5432)
    # The API logs in as the user the db service creates, to the database it creates.
    assert (url.username, url.password, url.database) == (
        db["POSTGRES_USER"],
        db["POSTGRES_PASSWORD"],
        db["POSTGRES_DB"],
    )
    assert urlsplit(settings["REDIS_URL"]).hostname == "redis"
    assert settings["SITE_URL"] == f"http://localhost:{env.get('PORT', '8000')}"


def _dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, (INSTRUCTION, arguments), one list per stage; what comes
    before the first FROM (ARGs) is stage 0."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


def _arguments(stage: list[tuple[str, str]], instruction: str) -> list[str]:
    return [arguments for name, arguments in stage if name == instruction]


def test_the_image_is_built_in_stages_and_runs_unprivileged_at_the_pinned_versions() -> None:
    globals_, *stages = _dockerfile_stages()
    assert len(stages) >= 2
    args = dict(a.split("=", 1) for a in _arguments(globals_, "ARG") if "=" in a)
    images = [interpolate(stage[0][1].split()[0], args) for stage in stages]
    assert images[0] == images[-1] == "python:3.11-slim"
    builder = stages[0][0][1].split()[-1]
    assert re.fullmatch(r"\S+ AS \S+", stages[0][0][1], re.IGNORECASE)

    runtime = stages[-1]
    runs = " ".join(_arguments(runtime, "RUN"))
    assert f"from={builder}" in runs or any(
        f"--from={builder}" in c for c in _arguments(runtime, "COPY")
    )
    assert re.search(r"pip .*install .*(--constraint|-c)[ =]\S*constraints\.txt", runs)
    assert not re.search(r"apt-get install|build-essential|gcc", runs)  # no compilers here
    (user,) = _arguments(runtime, "USER")
    assert user.split(":")[0] not in ("root", "0")
    assert _arguments(runtime, "WORKDIR")
    assert _arguments(runtime, "EXPOSE") == ["8000"]
    (healthcheck,) = _arguments(runtime, "HEALTHCHECK")
    assert "/readyz" in healthcheck
    (cmd,) = _arguments(runtime, "CMD")
    assert "healthcontent serve --host 0.0.0.0 --port 8000 --workers" in cmd


def _ignored(path: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatch(path, p.removeprefix("**/")) or fnmatch.fnmatch(path, p) for p in patterns
    )


def test_the_build_context_has_what_the_wheel_needs_and_nothing_local() -> None:
    patterns = [
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not [p for p in patterns if p.startswith("!")]  # keep the check below simple
    assert {".git", ".venv", "var", ".env", "tests", "**/node_modules"} <= set(patterns)

    builder = _dockerfile_stages()[1]
    sources = [
        source
        for arguments in _arguments(builder, "COPY")
        if not arguments.startswith("--")
        for source in arguments.split()[:-1]
    ]
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, patterns), f"{source} is copied but .dockerignore drops it"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.rstrip("*") for p in packages} <= set(sources)
    assert pyproject["project"]["readme"] in sources


class _Readiness(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _readiness_stub() -> Iterator[tuple[type[_Readiness], int]]:
    handler = type("Handler", (_Readiness,), {})
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as stub:
        thread = threading.Thread(target=stub.serve_forever)
        thread.start()
        try:
            yield handler, int(stub.server_address[1])
        finally:
            stub.shutdown()
            thread.join()


def _health_commands() -> dict[str, list[str]]:
    """The image's HEALTHCHECK and the api service's, each as an argv."""
    (healthcheck,) = _arguments(_dockerfile_stages()[-1], "HEALTHCHECK")
    image = json.loads(healthcheck.partition(" CMD ")[2])
    compose = _health_test(load_compose()["services"]["api"])
    assert compose[0] == "CMD"
    return {"Dockerfile": image, "docker-compose.yml": compose[1:]}


def _run_health_check(argv: list[str], port: int) -> subprocess.CompletedProcess[str]:
    assert argv[0] == "python"
    assert "//127.0.0.1:8000/readyz" in argv[-1]
    script = argv[-1].replace("//127.0.0.1:8000/", f"//127.0.0.1:{port}/")
    return subprocess.run(
        [sys.executable, *argv[1:-1], script], capture_output=True, text=True, timeout=30
    )


def test_health_checks_pass_when_ready_and_fail_when_not() -> None:
    with _readiness_stub() as (handler, port):
        for where, argv in _health_commands().items():
            handler.status = 200
            assert _run_health_check(argv, port).returncode == 0, where
            handler.status = 503
            assert _run_health_check(argv, port).returncode != 0, where


# --- docker compose itself, where it exists ----------------------------------------------------


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client here: `docker compose config` not run")
    version = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=30
    )
    if version.returncode != 0:
        said = (version.stderr or version.stdout).strip().partition("\n")[0]
        pytest.skip(f"no docker compose plugin here ({said}): `docker compose config` not run")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# --- The services' commands, run here -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group(pgid: int) -> list[tuple[int, str]]:
    """Live (not zombie) processes of process group `pgid`: (pid, command line). Linux only."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        state, _ppid, group = stat.rpartition(")")[2].split()[:3]
        if int(group) == pgid and state != "Z":
            members.append((int(entry.name), cmdline))
    return members


def _workers(pgid: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing's spawned children) in the group."""
    return [pid for pid, cmdline in _group(pgid) if "spawn_main" in cmdline]


def _wait_for(condition: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds:.0f} s; server log:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


def _ready(base: str, server: subprocess.Popen[bytes], log: Path) -> bool:
    assert server.poll() is None, f"the server exited; its log:\n{log.read_text()[-4000:]}"
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
            return response.status == 200
    except OSError:  # not listening yet, or 503: the database not reachable yet
        return False


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Ends whatever is left of the server's group: SIGTERM, a grace period, then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (server.poll() is None or _group(server.pid)):
            time.sleep(0.1)
        if server.poll() is not None and not _group(server.pid):
            return
    server.wait(timeout=5)


def _rate_counters(url: str) -> dict[bytes, int]:
    """The rate limiter's counters in Redis (request counts and cost spent), read, not reset."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{REDIS_PREFIX}:ratelimit:*", count=1000))
        values = client.mget(keys) if keys else []
        return {k: int(v) for k, v in zip(keys, values, strict=True) if v is not None}
    finally:
        client.close()


def _post(url: str, payload: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.load(response)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_the_services_commands_migrate_seed_and_serve_here(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    redis_url = reachable_redis()
    database_url = postgres.create()  # empty: the migrate service starts from nothing
    port = _free_port()
    services = load_compose({"PORT": str(port)})["services"]
    migrate, api = services["migrate"], services["api"]

    # The compose file's settings, with this machine's database and Redis for its services'.
    settings = dict(api["environment"])
    assert make_url(settings["DATABASE_URL"]).host == "db"
    assert urlsplit(settings["REDIS_URL"]).hostname == "redis"
    settings.update(DATABASE_URL=database_url, REDIS_URL=redis_url, REDIS_PREFIX=REDIS_PREFIX)
    env = {**os.environ, **settings, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    assert shutil.which("healthcontent", path=env["PATH"]) == str(BIN / "healthcontent")
    # The image's WORKDIR holds no .env and no project checkout: neither does this one.
    workdir = tmp_path / "app"
    workdir.mkdir()

    def run_migrate() -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            _command(migrate), env=env, cwd=workdir, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    first = run_migrate()
    assert "database is at migration" in first.stdout
    assert re.search(r"\b[1-9]\d* created, 0 updated, 0 unchanged", first.stdout), first.stdout
    again = run_migrate()  # as on every later `docker compose up`
    assert re.search(r"\b0 created, 0 updated, [1-9]\d* unchanged", again.stdout), again.stdout

    command = _command(api)
    workers = int(_option(command, "--workers"))
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            command,
            env=env,
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: uvicorn and every worker
        )
    try:
        _wait_for(lambda: _ready(base, server, log), 20, "GET /readyz did not answer 200", log)
        _wait_for(lambda: len(_workers(server.pid)) == workers, 20, f"{workers} workers", log)

        counted = _rate_counters(redis_url)
        status, body = _post(f"{base}/graphql", ARTICLES)
        assert status == 200
        assert "errors" not in body, body
        articles = body["data"]["articles"]
        assert articles["totalCount"] >= 1
        urls = [edge["node"]["url"] for edge in articles["edges"]]
        assert any(url.startswith(f"{settings['SITE_URL']}/articles/") for url in urls), urls
        # The request was counted in Redis, where every worker and replica shares the count.
        after = _rate_counters(redis_url)
        assert any(after[key] > counted.get(key, 0) for key in after), (counted, after)
        # The service's own health check passes against it.
        for where, argv in _health_commands().items():
            result = _run_health_check(argv, port)
            assert result.returncode == 0, (where, result.stderr)

        # `docker stop`: SIGTERM to the main process only; it must take its workers along.
        server.send_signal(signal.SIGTERM)
        _wait_for(
            lambda: server.poll() is not None and not _group(server.pid),
            10,
            "SIGTERM did not stop uvicorn and its workers",
            log,
        )
        assert server.returncode == 0, log.read_text()[-4000:]
    finally:
        _stop(server)
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"{REDIS_PREFIX}:*"):
            client.delete(key)
        client.close()


def test_the_database_password_has_no_default() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    with pytest.raises(ValueError, match="set POSTGRES_PASSWORD"):
        interpolate(compose, {})
