"""CI never passes by quietly skipping: with CI=true a missing PostgreSQL, npm (codegen,
Apollo Client) or Chromium fails the run; elsewhere those tests are skipped and say why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tests.conftest
from tests.api.site import test_browser
from tests.test_examples import install_examples

ROOT = Path(__file__).resolve().parent.parent
NOBODY_LISTENS = "postgresql://postgres@127.0.0.1:9/test"  # the discard port: refused at once


def _pytest_with_absent_postgres(ci: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TEST_DATABASE_URL": NOBODY_LISTENS, "CI": ci}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/seed_data/test_idempotency.py::test_dry_run_reports_changes_and_writes_nothing"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_ci_fails_when_postgres_is_missing() -> None:
    run = _pytest_with_absent_postgres("true")

    assert run.returncode != 0, run.stdout
    assert "CI=true requires both databases" in run.stdout
    assert "1 passed" in run.stdout  # the SQLite half still ran


def test_outside_ci_the_postgres_half_is_skipped_and_says_why() -> None:
    run = _pytest_with_absent_postgres("")

    assert run.returncode == 0, run.stdout
    assert "1 passed, 1 skipped" in run.stdout
    assert "is not reachable" in run.stdout


def test_without_npm_the_codegen_and_apollo_tests_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "")  # no npm, no node
    monkeypatch.setattr(tests.conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match=r"npm not found.*CI=true requires it"):
        install_examples()
    monkeypatch.setattr(tests.conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="npm not found"):
        install_examples()


def test_without_chromium_the_browser_tests_fail_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(test_browser, "CHROMIUM", "/nowhere/chromium")
    monkeypatch.setattr(tests.conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="no Chromium at /nowhere/chromium"):
        test_browser._chromium()
    monkeypatch.setattr(tests.conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium"):
        test_browser._chromium()
