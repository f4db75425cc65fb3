"""Load content files into the database: validate everything, then write all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from schema.db import LARGE_WRITE, open_session, refresh_statistics
from schema.load_plans import Batch, Progress, plan_load, stored_article_hashes
from schema.rendering import RenderedBody
from schema.upserts import apply_load
from schema.validation import Problem
from seed_data.prepare import PreparedItem, prepare_files
from seed_data.sources import Origin, SourceProblem, discover

_BATCH_FIELD = {"topic": "topics", "expert": "experts", "article": "articles"}
Located = tuple[str, int, str]  # (file as shown, line, message)


@dataclass
class LoadResult:
    """What a load did (or, with dry_run, would do), or why it wrote nothing."""

    problems: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    changed: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def total(self, what: str) -> int:
        return sum(c[what] for c in self.counts.values())


def _display(path: Path) -> str:
    """Relative to the working directory when under it (as editors typed it), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def _source(problem: SourceProblem) -> Located:
    return (_display(problem.path), problem.line, problem.message)


@dataclass
class _Collected:
    batch: Batch = field(default_factory=Batch)
    origins: dict[str, list[Origin]] = field(
        default_factory=lambda: {"topic": [], "expert": [], "article": []}
    )
    rendered: dict[int, RenderedBody] = field(default_factory=dict)
    invalid: set[tuple[str, str]] = field(default_factory=set)  # (kind, slug) that failed
    unreadable: set[str] = field(default_factory=set)  # kinds with a file we could not read
    problems: list[Located] = field(default_factory=list)

    def add(self, item: PreparedItem) -> None:
        self.problems += [_source(p) for p in item.problems]
        if item.model is None:
            if item.raw_slug:
                self.invalid.add((item.kind, item.raw_slug))
            return
        items = getattr(self.batch, _BATCH_FIELD[item.kind])
        if item.rendered is not None:
            self.rendered[len(items)] = item.rendered
        items.append(item.model)
        self.origins[item.kind].append(item.origin)

    def locate(self, problem: Problem) -> Located:
        origin = self.origins[problem.kind][problem.index]
        if problem.body_line is not None:
            line = origin.body_line(problem.body_line)
            return (_display(origin.path), line, problem.message)
        message = f"{problem.field}: {problem.message}" if problem.loc else problem.message
        if problem.also is not None:
            other = self.origins[problem.also[0]][problem.also[1]]
            message += f" (first at {_display(other.path)}:{other.line(('slug',))})"
        return (_display(origin.path), origin.line(problem.loc), message)

    def caused_by_invalid_item(self, problem: Problem) -> bool:
        """A "no such slug" problem about an item that already failed validation, or that
        may be in a file we could not read: reporting it would send the editor looking for a
        second mistake that isn't there."""
        if problem.missing is None:
            return False
        return problem.missing in self.invalid or problem.missing[0] in self.unreadable


async def load_paths(
    *,
    engine: AsyncEngine,
    paths: list[Path],
    dry_run: bool = False,
    progress: Progress | None = None,
) -> LoadResult:
    """Validate every file under `paths`; if all is well, upsert it all in one transaction."""
    files, found = discover(paths)
    collected = _Collected(problems=[_source(p) for p in found])

    # Render ahead (outside the write transaction) whatever differs from what is stored now;
    # plan_load re-checks inside the transaction and renders anything that changed meanwhile.
    async with open_session(engine) as session:
        hashes = await stored_article_hashes(session=session)
    for (kind, _), prepared in zip(files, prepare_files(files, hashes, progress), strict=True):
        collected.problems += [_source(p) for p in prepared.problems]
        if prepared.problems and not prepared.items:
            collected.unreadable.add(kind)
        for item in prepared.items:
            collected.add(item)

    async with open_session(engine, write=True) as session:
        plan = await plan_load(session=session, batch=collected.batch, rendered=collected.rendered)
        problems = collected.problems + [
            collected.locate(p) for p in plan.problems if not collected.caused_by_invalid_item(p)
        ]
        result = LoadResult(
            problems=[f"{f}:{line}: {msg}" for f, line, msg in sorted(set(problems))],
            counts=plan.counts(),
            changed=plan.changed_slugs(),
            dry_run=dry_run,
        )
        if problems or dry_run:
            await session.rollback()
            return result
        if progress:
            progress("write", 0, len(plan.articles.created) + len(plan.articles.updated))
        await apply_load(session=session, plan=plan, progress=progress)
    if len(plan.articles.created) + len(plan.articles.updated) >= LARGE_WRITE:
        await refresh_statistics(engine)
    return result
