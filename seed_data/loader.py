"""Load content files into the database: validate everything, then write all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.db import open_session
from schema.inputs import ArticleInput, ExpertInput, TopicInput
from schema.validation import Problem, problems_from_error
from schema.writes import Batch, Progress, apply_load, plan_load
from seed_data.sources import Origin, RawItem, SourceProblem, read_all

_MODELS: dict[str, Any] = {"topic": TopicInput, "expert": ExpertInput, "article": ArticleInput}
_BATCH_FIELD = {"topic": "topics", "expert": "experts", "article": "articles"}


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


def _format(path: Path, line: int, message: str) -> tuple[str, int, str]:
    return (_display(path), line, message)


def _validate(
    raw: list[RawItem],
) -> tuple[Batch, dict[str, list[Origin]], list[tuple[str, int, str]]]:
    batch = Batch()
    origins: dict[str, list[Origin]] = {"topic": [], "expert": [], "article": []}
    problems: list[tuple[str, int, str]] = []
    for item in raw:
        try:
            model = _MODELS[item.kind].model_validate(item.data)
        except ValidationError as exc:
            for p in problems_from_error(item.kind, 0, exc):
                text = f"{p.field}: {p.message}" if p.loc else p.message
                problems.append(_format(item.origin.path, item.origin.line(p.loc), text))
            continue
        getattr(batch, _BATCH_FIELD[item.kind]).append(model)
        origins[item.kind].append(item.origin)
    return batch, origins, problems


def _locate(problem: Problem, origins: dict[str, list[Origin]]) -> tuple[str, int, str]:
    origin = origins[problem.kind][problem.index]
    if problem.body_line is not None:
        line = origin.body_line(problem.body_line)
        return _format(origin.path, line, problem.message)
    message = f"{problem.field}: {problem.message}" if problem.loc else problem.message
    if problem.also is not None:
        other = origins[problem.also[0]][problem.also[1]]
        message += f" (first at {_display(other.path)}:{other.line(('slug',))})"
    return _format(origin.path, origin.line(problem.loc), message)


def _sorted(problems: list[tuple[str, int, str]]) -> list[str]:
    return [f"{path}:{line}: {message}" for path, line, message in sorted(set(problems))]


async def load_paths(
    *,
    engine: AsyncEngine,
    paths: list[Path],
    dry_run: bool = False,
    progress: Progress | None = None,
) -> LoadResult:
    """Validate every file under `paths`; if all is well, upsert it all in one transaction."""
    raw, source_problems = read_all(paths)
    problems = [_format(p.path, p.line, p.message) for p in source_problems]
    batch, origins, field_problems = _validate(raw)
    problems += field_problems
    # Items that failed field validation still name slugs other items may refer to; leaving
    # them out of the cross-checks avoids a second, misleading "unknown slug" for each.
    invalid = _invalid_slugs(raw, batch)

    async with open_session(engine, write=True) as session:
        plan = await plan_load(session=session, batch=batch, progress=progress)
        problems += [
            _locate(p, origins) for p in plan.problems if not _caused_by(p, batch, invalid)
        ]
        result = LoadResult(
            problems=_sorted(problems),
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
    return result


def _invalid_slugs(raw: list[RawItem], batch: Batch) -> dict[str, set[str]]:
    valid = {
        "topic": {t.slug for t in batch.topics},
        "expert": {e.slug for e in batch.experts},
        "article": {a.slug for a in batch.articles},
    }
    out: dict[str, set[str]] = {"topic": set(), "expert": set(), "article": set()}
    for item in raw:
        slug = item.data.get("slug")
        if isinstance(slug, str) and slug not in valid[item.kind]:
            out[item.kind].add(slug)
    return out


def _caused_by(problem: Problem, batch: Batch, invalid: dict[str, set[str]]) -> bool:
    """Is this an "unknown X" problem about an item that already failed validation?"""
    if not problem.message.startswith(("unknown", "quote names missing", "related link to")):
        return False
    return any(f"{slug!r}" in problem.message for slugs in invalid.values() for slug in slugs)


__all__ = ["LoadResult", "SourceProblem", "load_paths"]
