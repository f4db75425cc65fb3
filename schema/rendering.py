"""Markdown body -> sections with stable anchors, table of contents, sanitized HTML, plain text.

Runs once when content is written (never on a read). CommonMark via markdown-it-py; every
piece of HTML goes through nh3, so no script, event handler or `javascript:` URL survives,
whatever an editor typed.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# Bump when the rendered output changes, so the loader re-renders unchanged sources.
RENDER_VERSION = 2
WORDS_PER_MINUTE = 230
LEAD_ANCHOR = "introduction"

_CITATION = re.compile(r"\[@([A-Za-z0-9][A-Za-z0-9_.:-]*)\]")
_md = MarkdownIt("commonmark")


# Built once: configuring a cleaner costs more than cleaning a typical section. No `id`
# attributes get through: anchors are ours (added after cleaning), so an editor's raw HTML
# cannot duplicate one and send a table-of-contents link to the wrong place.
_cleaner = nh3.Cleaner(url_schemes={"http", "https", "mailto"})
_strip_all = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"})


def sanitize(html: str) -> str:
    """Keep ordinary markup; drop scripts, event handlers, styles and non-web URL schemes."""
    return _cleaner.clean(html)


@dataclass(frozen=True)
class Section:
    """A run of the body under one heading; level 0 is the untitled text before any heading.

    Its HTML and text are spans of the whole body's (heading excluded), so nothing is stored
    twice: `RenderedBody.section_html(s)`, or `body_html[start:end]` on a stored article.
    """

    anchor: str
    heading: str | None
    level: int
    html_span: tuple[int, int]
    text_span: tuple[int, int]
    cites: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The form stored in `article.sections`."""
        return {
            "anchor": self.anchor,
            "heading": self.heading,
            "level": self.level,
            "html": list(self.html_span),
            "text": list(self.text_span),
            "cites": list(self.cites),
        }


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

    def section_html(self, section: Section) -> str:
        return self.html[slice(*section.html_span)]

    def section_text(self, section: Section) -> str:
        return self.text[slice(*section.text_span)]

    @property
    def table_of_contents(self) -> list[tuple[str, str | None, int]]:
        return [(s.anchor, s.heading, s.level) for s in self.sections if s.heading is not None]


class _Buffer:
    """Appends pieces (with a separator between non-empty ones) and reports each one's span."""

    def __init__(self, separator: str = "") -> None:
        self.parts: list[str] = []
        self.length = 0
        self.separator = separator

    def add(self, piece: str) -> tuple[int, int]:
        if not piece:
            return (self.length, self.length)
        if self.parts and self.separator:
            self.parts.append(self.separator)
            self.length += len(self.separator)
        start = self.length
        self.parts.append(piece)
        self.length += len(piece)
        return (start, self.length)

    def value(self) -> str:
        return "".join(self.parts)


MAX_ANCHOR = 100


def slugify(text: str) -> str:
    """`Raynaud’s Syndrome & You` -> `raynauds-syndrome-you` (ASCII, lowercase, hyphens,
    at most MAX_ANCHOR characters)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"['’]", "", text.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:MAX_ANCHOR].rstrip("-")
    return slug or "section"


def _unique(anchor: str, taken: set[str]) -> str:
    candidate, n = anchor, 2
    while candidate in taken:
        candidate, n = f"{anchor}-{n}", n + 1
    taken.add(candidate)
    return candidate


_RAW_TEXT_OPEN = re.compile(r"<(script|style)\b[^>]*>", re.IGNORECASE)
_RAW_TEXT_CLOSE = re.compile(r"</(script|style)\b[^>]*>", re.IGNORECASE)
_LINE_BREAK = re.compile(r"<br\b", re.IGNORECASE)


class _RawText:
    """Whether we are inside <script>/<style>: the sanitizer drops that text, and so must the
    plain text. Carried across a section's blocks, as the sanitizer sees the section whole."""

    def __init__(self) -> None:
        self.inside = False

    def visible(self, html_fragment: str) -> str:
        """The part of a raw-HTML fragment outside script/style, updating the state."""
        out: list[str] = []
        rest = html_fragment
        while rest:
            if self.inside:
                close = _RAW_TEXT_CLOSE.search(rest)
                if close is None:
                    return "".join(out)
                self.inside, rest = False, rest[close.end() :]
            else:
                opening = _RAW_TEXT_OPEN.search(rest)
                if opening is None:
                    out.append(rest)
                    break
                out.append(rest[: opening.start()])
                self.inside, rest = True, rest[opening.end() :]
        return "".join(out)


def _inline_text(token: Token, raw: _RawText | None = None) -> str:
    raw = raw or _RawText()
    parts: list[str] = []
    for child in token.children or ():
        if child.type == "html_inline":
            was_inside = raw.inside
            raw.visible(child.content)
            if not was_inside and not raw.inside and _LINE_BREAK.match(child.content):
                parts.append("\n")
        elif raw.inside:
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
    raw = _RawText()
    for token in tokens:
        if token.type == "inline":
            blocks.append(_inline_text(token, raw))
        elif token.type in ("fence", "code_block") and not raw.inside:
            blocks.append(token.content.rstrip("\n"))
        elif token.type == "html_block":
            # What a reader sees of an editor's raw HTML block: its text, scripts excluded.
            visible = raw.visible(token.content)
            blocks.append(html.unescape(_strip_all.clean(visible)).strip())
    return "\n\n".join(b for b in blocks if b.strip())


def _link_citations(
    token: Token, numbers: dict[str, int], problems: list[RenderProblem]
) -> list[str]:
    """Turn `[@key]` in an inline token into a numbered link to `#ref-key`; return keys cited.

    Only prose is looked at (text tokens), so `[@key]` inside a code span is left alone.
    """
    cited: list[str] = []
    children: list[Token] = []
    first_line = token.map[0] + 1 if token.map else 1
    cursor = 0  # how far into the raw paragraph the text tokens seen so far reach
    for child in token.children or ():
        if child.type != "text" or "[@" not in child.content:
            children.append(child)
            continue
        start = token.content.find(child.content, cursor)
        if start >= 0:
            cursor = start + len(child.content)
        last = 0
        for match in _CITATION.finditer(child.content):
            key = match.group(1)
            if key not in numbers:
                offset = max(start, 0) + match.start()
                line = first_line + token.content[:offset].count("\n")
                problems.append(RenderProblem(line, f"citation [@{key}] names no reference"))
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
    html_out, text_out = _Buffer(), _Buffer("\n\n")
    for heading_tokens, content in chunks:
        if heading_tokens is None and not content:
            continue
        cites: list[str] = []
        for token in content:
            if token.type == "inline":
                cites.extend(_link_citations(token, numbers, problems))
        if heading_tokens is None:
            lead_html = sanitize(_md.renderer.render(content, _md.options, {}))
            if not lead_html.strip():
                continue  # only markup the sanitizer removed: no lead section
            anchor, heading, level = LEAD_ANCHOR, None, 0
            html_span = html_out.add(lead_html)
        else:
            opening, inline, _ = heading_tokens
            heading = _inline_text(inline).strip()
            for match in _CITATION.finditer(heading):
                line = opening.map[0] + 1 if opening.map else 1
                message = f"a heading cannot cite [@{match.group(1)}]: cite in the text below it"
                problems.append(RenderProblem(line, message))
            level = int(opening.tag[1])
            anchor = _unique(slugify(heading), taken)
            # One sanitizer pass for heading and content (the chunk starts with our heading,
            # which then gets its anchor); the section's HTML starts after the heading.
            chunk = sanitize(_md.renderer.render(heading_tokens + content, _md.options, {}))
            chunk = chunk.replace(f"<h{level}>", f'<h{level} id="{anchor}">', 1)
            close = chunk.find(f"</h{level}>")
            start, end = html_out.add(chunk)
            head_end = start + (close + len(f"</h{level}>") if close >= 0 else 0)
            if chunk[head_end - start : head_end - start + 1] == "\n":
                head_end += 1
            html_span = (head_end, end)
            text_out.add(heading)
        text_span = text_out.add(_plain_text(content))
        unique_cites = tuple(dict.fromkeys(cites))
        sections.append(Section(anchor, heading, level, html_span, text_span, unique_cites))

    body_text = text_out.value()
    words = len(body_text.split())
    return RenderedBody(
        html=html_out.value(),
        text=body_text,
        word_count=words,
        reading_time_minutes=max(1, math.ceil(words / WORDS_PER_MINUTE)),
        sections=sections,
        problems=problems,
    )
