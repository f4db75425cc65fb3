"""Read content files into plain data, remembering where every value came from (file and line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]
ARTICLE_SUFFIXES = {".md", ".markdown"}
# libyaml's parser is ~20x faster than the pure-Python one and reports the same line marks.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TOPIC_FILES = {"topics.yaml", "topics.yml"}
EXPERT_FILES = {"experts.yaml", "experts.yml"}


@dataclass(frozen=True)
class Origin:
    """Where an item was written: its file, and the file line of every field path in it.

    A plain mapping (not the YAML node) so items can travel between worker processes.
    """

    path: Path
    lines: dict[Loc, int]  # () is the item itself; ("quotes", 0, "expert") a nested field
    body_first_line: int | None = None  # file line of a Markdown body's first line

    def line(self, loc: Loc = ()) -> int:
        """File line of the value at `loc`, or of its nearest enclosing value we know."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return 1

    def body_line(self, line: int) -> int:
        return (self.body_first_line or 1) + line - 1


def _line_map(node: yaml.Node, first_line: int) -> dict[Loc, int]:
    """File line of each field path under `node` (a key's own line for mapping values)."""
    lines: dict[Loc, int] = {}

    def walk(node: yaml.Node, loc: Loc, line: int) -> None:
        lines[loc] = line
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key.value, str):
                    line = first_line + key.start_mark.line
                    walk(value, (*loc, key.value), line)
                    if key.tag.endswith(":int") and key.value.isdigit():
                        lines[(*loc, int(key.value))] = line  # pydantic reports `1: x` as 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*loc, index), first_line + item.start_mark.line)

    walk(node, (), first_line + node.start_mark.line)
    return lines


@dataclass(frozen=True)
class SourceProblem:
    path: Path
    line: int
    message: str


@dataclass
class RawItem:
    """One topic, expert or article as plain data, before validation."""

    kind: str
    data: dict[str, Any]
    origin: Origin
    slug_from_file_name: bool = False


def _duplicate_keys(node: yaml.Node, path: Path, first_line: int) -> list[SourceProblem]:
    out = []
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if key.value in seen:
                line = first_line + key.start_mark.line
                out.append(SourceProblem(path, line, f"duplicate key {key.value!r}"))
            seen.add(key.value)
            out += _duplicate_keys(value, path, first_line)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            out += _duplicate_keys(item, path, first_line)
    return out


def parse_yaml(
    text: str, path: Path, first_line: int = 1
) -> tuple[Any, yaml.Node | None, list[SourceProblem]]:
    """Parse one YAML document; return (data, node, problems) with file lines in problems."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None, []
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        detail = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return None, None, [SourceProblem(path, line, f"invalid YAML: {detail}")]
    except yaml.YAMLError as exc:
        return None, None, [SourceProblem(path, first_line, f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    return data, node, _duplicate_keys(node, path, first_line)


def read_list_file(path: Path, kind: str) -> tuple[list[RawItem], list[SourceProblem]]:
    """topics.yaml / experts.yaml: a YAML list of mappings."""
    data, node, problems = parse_yaml(path.read_text(encoding="utf-8"), path)
    if problems:
        return [], problems
    if data is None:
        return [], []
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        return [], [
            SourceProblem(path, 1, f"expected a list of {kind}s (lines starting `- slug:`)")
        ]
    items, problems = [], []
    for entry, entry_node in zip(data, node.value, strict=True):
        if not isinstance(entry, dict):
            line = 1 + entry_node.start_mark.line
            problems.append(SourceProblem(path, line, f"each {kind} must be a mapping of fields"))
            continue
        items.append(RawItem(kind, entry, Origin(path, _line_map(entry_node, 1))))
    return items, problems


def read_article(path: Path) -> tuple[list[RawItem], list[SourceProblem]]:
    """A Markdown file: `---` YAML front matter `---`, then the body."""
    text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return [], [SourceProblem(path, 1, "missing front matter: the file must start with ---")]
    end = next((n for n in range(1, len(lines)) if lines[n].rstrip() in ("---", "...")), None)
    if end is None:
        return [], [SourceProblem(path, 1, "front matter is not closed by a --- line")]
    data, node, problems = parse_yaml("".join(lines[1:end]), path, first_line=2)
    if problems:
        return [], problems
    if not isinstance(data, dict):
        return [], [SourceProblem(path, 2, "front matter must be a mapping of fields")]
    assert node is not None
    origin = Origin(path, _line_map(node, 2), body_first_line=end + 2)
    if "body" in data:
        message = "`body` is the Markdown after the front matter"
        return [], [SourceProblem(path, origin.line(("body",)), message)]
    implicit = "slug" not in data
    data = {"slug": path.stem, **data, "body": "".join(lines[end + 1 :])}
    return [RawItem("article", data, origin, slug_from_file_name=implicit)], []


def discover(paths: list[Path]) -> tuple[list[tuple[str, Path]], list[SourceProblem]]:
    """Content files under `paths`, as (kind, path), in a stable order."""

    def kind_of(path: Path) -> str | None:
        name = path.name.lower()
        if name in TOPIC_FILES:
            return "topic"
        if name in EXPERT_FILES:
            return "expert"
        if path.suffix.lower() in ARTICLE_SUFFIXES and name != "readme.md":
            return "article"
        return None

    found: list[tuple[str, Path]] = []
    problems: list[SourceProblem] = []
    for root in paths:
        if root.is_dir():
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                kind = kind_of(path)
                if kind:
                    found.append((kind, path))
        elif root.is_file():
            kind = kind_of(root)
            if kind is None:
                message = "not a content file (expected *.md, topics.yaml or experts.yaml)"
                problems.append(SourceProblem(root, 1, message))
            else:
                found.append((kind, root))
        else:
            problems.append(SourceProblem(root, 1, "no such file or directory"))
    return list(dict.fromkeys(found)), problems
