"""Markdown body -> sections with stable anchors, table of contents, sanitized HTML, plain text.

Runs once when content is written (never on a read). CommonMark via markdown-it-py; every
piece of HTML goes through nh3, so no script, event handler or `javascript:` URL survives,
whatever an editor typed.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# Bump when the rendered output changes, so the loader re-renders unchanged sources.
RENDER_VERSION = 1
WORDS_PER_MINUTE = 230
LEAD_ANCHOR = "introduction"

_CITATION = re.compile(r"\[@([A-Za-z0-9][A-Za-z0-9_.:-]*)\]")
_md = MarkdownIt("commonmark")
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _level in range(1, 7):
    _ATTRIBUTES.setdefault(f"h{_level}", set()).add("id")


def sanitize(html: str) -> str:
    """Keep ordinary markup; drop scripts, event handlers, styles and non-web URL schemes."""
    return nh3.clean(html, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"})


@dataclass(frozen=True)
class Section:
    """A run of the body under one heading; level 0 is the untitled text before any heading."""

    anchor: str
    heading: str | None
    level: int
    html: str
    text: str
    cites: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RenderProblem:
    line: int  # 1-based line in the Markdown source
    message: str


@dataclass(frozen=True)
class RenderedBody:
    html: str
    text: str
    word_count: int
    reading_time_minutes: int
    sections: list[Section]
    problems: list[RenderProblem]

    @property
    def table_of_contents(self) -> list[tuple[str, str, int]]:
        return [(s.anchor, s.heading, s.level) for s in self.sections if s.heading is not None]


def slugify(text: str) -> str:
    """`Raynaud’s Syndrome & You` -> `raynauds-syndrome-you` (ASCII, lowercase, hyphens)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"['’]", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "section"


def _unique(anchor: str, taken: set[str]) -> str:
    candidate, n = anchor, 2
    while candidate in taken:
        candidate, n = f"{anchor}-{n}", n + 1
    taken.add(candidate)
    return candidate


_RAW_TEXT_OPEN = re.compile(r"<(script|style)\b", re.IGNORECASE)
_RAW_TEXT_CLOSE = re.compile(r"</(script|style)\s*>", re.IGNORECASE)


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    in_raw = False  # inside inline <script>/<style>: sanitizing drops it, so must the text
    for child in token.children or ():
        if child.type == "html_inline":
            if _RAW_TEXT_OPEN.match(child.content):
                in_raw = True
            elif _RAW_TEXT_CLOSE.match(child.content):
                in_raw = False
        elif in_raw:
            continue
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(_inline_text(child))
    return "".join(parts)


def _plain_text(tokens: Iterable[Token]) -> str:
    blocks = []
    for token in tokens:
        if token.type == "inline":
            blocks.append(_inline_text(token))
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
    return "\n\n".join(b for b in blocks if b.strip())


def _link_citations(
    token: Token, numbers: dict[str, int], problems: list[RenderProblem]
) -> list[str]:
    """Turn `[@key]` in an inline token into a numbered link to `#ref-key`; return keys cited."""
    cited: list[str] = []
    for match in _CITATION.finditer(token.content):
        if match.group(1) not in numbers:
            line = (token.map[0] if token.map else 0) + token.content[: match.start()].count("\n")
            problems.append(
                RenderProblem(line + 1, f"citation [@{match.group(1)}] names no reference")
            )
    children: list[Token] = []
    for child in token.children or ():
        if child.type != "text" or "[@" not in child.content:
            children.append(child)
            continue
        last = 0
        for match in _CITATION.finditer(child.content):
            key = match.group(1)
            if key not in numbers:
                continue
            cited.append(key)
            children.append(Token("text", "", 0, content=child.content[last : match.start()]))
            children.append(Token("html_inline", "", 0, content="<sup>"))
            children.append(Token("link_open", "a", 1, attrs={"href": f"#ref-{key}"}))
            children.append(Token("text", "", 0, content=f"[{numbers[key]}]"))
            children.append(Token("link_close", "a", -1))
            children.append(Token("html_inline", "", 0, content="</sup>"))
            last = match.end()
        children.append(Token("text", "", 0, content=child.content[last:]))
    token.children = children
    return cited


def render_markdown(source: str, *, reference_keys: Sequence[str] = ()) -> RenderedBody:
    """Render an article body. `reference_keys`, in order, number the `[@key]` citations."""
    tokens = _md.parse(source)
    numbers = {key: n for n, key in enumerate(reference_keys, start=1)}
    problems: list[RenderProblem] = []

    # Split the top-level token stream at headings: [(heading tokens or None, content tokens)].
    chunks: list[tuple[list[Token] | None, list[Token]]] = [(None, [])]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type == "heading_open" and token.level == 0:
            chunks.append((tokens[i : i + 3], []))
            i += 3
            continue
        chunks[-1][1].append(token)
        i += 1

    taken: set[str] = {LEAD_ANCHOR}
    sections: list[Section] = []
    html_parts: list[str] = []
    text_parts: list[str] = []
    for heading_tokens, content in chunks:
        if heading_tokens is None and not content:
            continue
        cites: list[str] = []
        for token in content:
            if token.type == "inline":
                cites.extend(_link_citations(token, numbers, problems))
        body_html = sanitize(_md.renderer.render(content, _md.options, {}))
        body_text = _plain_text(content)
        if heading_tokens is None:
            anchor, heading, level = LEAD_ANCHOR, None, 0
        else:
            opening, inline, _ = heading_tokens
            heading = _inline_text(inline).strip()
            level = int(opening.tag[1])
            anchor = _unique(slugify(heading), taken)
            opening.attrSet("id", anchor)
            html_parts.append(sanitize(_md.renderer.render(heading_tokens, _md.options, {})))
            text_parts.append(heading)
        html_parts.append(body_html)
        text_parts.append(body_text)
        unique_cites = list(dict.fromkeys(cites))
        sections.append(Section(anchor, heading, level, body_html, body_text, unique_cites))

    text = "\n\n".join(p for p in text_parts if p)
    words = len(text.split())
    return RenderedBody(
        html="".join(html_parts),
        text=text,
        word_count=words,
        reading_time_minutes=max(1, math.ceil(words / WORDS_PER_MINUTE)),
        sections=sections,
        problems=problems,
    )
