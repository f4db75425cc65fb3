"""Read, validate and render content files, in worker processes for big loads.

This is the CPU-heavy part of a load (YAML, pydantic, Markdown, sanitizing), and it runs before
the write transaction opens, so the database is locked only for the writes themselves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from schema.inputs import ArticleInput, ExpertInput, TopicInput
from schema.load_plans import Progress
from schema.rendering import RenderedBody, render_markdown
from schema.validation import problems_from_error
from seed_data.sources import Origin, SourceProblem, read_article, read_list_file

PARALLEL_MIN_FILES = 500  # measured: below this, starting workers costs more than it saves
_MODELS: dict[str, type[BaseModel]] = {
    "topic": TopicInput,
    "expert": ExpertInput,
    "article": ArticleInput,
}


@dataclass
class PreparedItem:
    """One item of a content file: validated (model set) or not (problems set)."""

    kind: str
    origin: Origin
    model: Any = None
    raw_slug: str | None = None
    problems: list[SourceProblem] = field(default_factory=list)
    rendered: RenderedBody | None = None  # for articles whose content hash changed


@dataclass
class PreparedFile:
    items: list[PreparedItem]
    problems: list[SourceProblem]


def prepare_file(kind: str, path: Path, stored_hashes: Mapping[str, str]) -> PreparedFile:
    """Parse one file; validate its items; render articles not already stored as they are."""
    try:
        raw, problems = read_article(path) if kind == "article" else read_list_file(path, kind)
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save it as UTF-8"
        return PreparedFile([], [SourceProblem(path, line, message)])
    except OSError as exc:
        return PreparedFile([], [SourceProblem(path, 1, f"cannot read file: {exc}")])
    items = []
    for item in raw:
        slug = item.data.get("slug")
        prepared = PreparedItem(
            item.kind, item.origin, raw_slug=slug if isinstance(slug, str) else None
        )
        try:
            prepared.model = _MODELS[item.kind].model_validate(item.data)
        except ValidationError as exc:
            for p in problems_from_error(item.kind, 0, exc):
                text = f"{p.field}: {p.message}" if p.loc else p.message
                if p.loc == ("slug",) and item.slug_from_file_name:
                    text += " (it comes from the file name; set `slug:` to choose another)"
                prepared.problems.append(SourceProblem(path, item.origin.line(p.loc), text))
        model = prepared.model
        if (
            isinstance(model, ArticleInput)
            and stored_hashes.get(model.slug) != model.content_hash()
        ):
            keys = [r.key for r in model.references]
            prepared.rendered = render_markdown(model.body, reference_keys=keys)
        items.append(prepared)
    return PreparedFile(items, problems)


def _prepare_job(job: tuple[str, Path]) -> PreparedFile:
    return prepare_file(job[0], job[1], _worker_hashes)


_worker_hashes: Mapping[str, str] = {}


def _init_worker(hashes: Mapping[str, str]) -> None:
    global _worker_hashes
    _worker_hashes = hashes


def prepare_files(
    files: list[tuple[str, Path]],
    stored_hashes: Mapping[str, str],
    progress: Progress | None = None,
) -> Iterable[PreparedFile]:
    """`prepare_file` over every file, in order; across all cores when there are many."""
    workers = os.cpu_count() or 1
    if len(files) < PARALLEL_MIN_FILES or workers < 2:
        for n, (kind, path) in enumerate(files, start=1):
            yield prepare_file(kind, path, stored_hashes)
            if progress and n % 100 == 0:
                progress("prepare", n, len(files))
        return
    # Not fork: the caller already runs an event loop and database driver threads. A fork
    # server imports the program (and this module) once; workers then fork from it instead
    # of each importing everything again, as spawned workers would.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "seed_data.prepare"])
    chunksize = max(1, min(32, len(files) // (workers * 8)))
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(dict(stored_hashes),)
    ) as pool:
        for n, prepared in enumerate(pool.map(_prepare_job, files, chunksize=chunksize), start=1):
            yield prepared
            if progress and n % 100 == 0:
                progress("prepare", n, len(files))
