"""The wheel, installed into a fresh venv, works from an empty folder with no checkout and no
network at run time: GraphiQL's assets, the migrations and the seed content are inside it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest

from api.graphiql import ASSETS
from tests.api.conftest import post_json, running_server

ROOT = Path(__file__).resolve().parents[1]
# What a source checkout has that a build must not see (nor write into: pip builds in-tree).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "node_modules", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project installed from its wheel (pinned dependencies)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _check([*pip, "wheel", "--no-deps", "-w", str(work / "dist"), str(source)])
    (wheel,) = (work / "dist").glob("healthcontent-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"api/static/graphiql/{asset.name}" for asset in ASSETS} <= set(names)
    assert "seed_data/articles/magnesium-for-chronic-pain.md" in names
    assert not [name for name in names if name.startswith(("tests/", "bench/", "var/"))]

    venv = work / "venv"
    _check([sys.executable, "-m", "venv", str(venv)])
    constraints = str(ROOT / "constraints.txt")
    _check([str(venv / "bin" / "python"), *pip[1:], "install", "-c", constraints, str(wheel)])
    return venv / "bin"


def test_an_installed_wheel_migrates_seeds_and_serves_from_an_empty_folder(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    # Only the installed package (never the checkout), with every default of its own.
    for name in ("DATABASE_URL", "SITE_URL", "PYTHONPATH"):
        monkeypatch.delenv(name, raising=False)
    env = dict(os.environ)
    healthcontent = str(installed / "healthcontent")

    migrated = _check([healthcontent, "migrate"], cwd=site, env=env)
    assert f"sqlite+aiosqlite:///{site / 'var' / 'content.db'}" in migrated.stdout
    seeded = _check([healthcontent, "seed"], cwd=site, env=env)  # the bundled seed content
    assert seeded.stdout.strip().endswith("12 created, 0 updated, 0 unchanged")
    assert (site / "var" / "content.db").is_file()  # in the working folder...
    assert not list(installed.parent.glob("lib/*/site-packages/var"))  # ...not in the venv

    with running_server(None, command=[healthcontent], cwd=site) as base:
        page = _get(f"{base}/graphql", accept="text/html")
        assert "GraphiQL" in page
        urls = [u for u in _attributes(page) if u.endswith((".js", ".css"))]
        assert len(urls) == len(ASSETS) + 1 and all(u.startswith("/graphiql/") for u in urls)
        for url in urls:  # from the wheel itself: nothing comes from the network
            assert len(_get(base + url)) > 500, url
        _, _, answer = post_json(
            f"{base}/graphql", {"query": "{ articles { edges { node { url } } } }"}
        )
        article_urls = [edge["node"]["url"] for edge in answer["data"]["articles"]["edges"]]
        assert article_urls and all(u.startswith(f"{base}/articles/") for u in article_urls)
        # The pages' templates, documents and stylesheet come with the wheel too.
        assert "<h1>" in _get(article_urls[0])
        assert "<feed" in _get(f"{base}/feeds/articles.atom")
        assert "blockquote" in _get(f"{base}/site.css")


def _check(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"
    return result


def _attributes(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def _get(url: str, accept: str = "*/*") -> str:
    request = urllib.request.Request(url, headers={"accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()
