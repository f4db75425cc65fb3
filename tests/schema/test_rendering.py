"""Markdown bodies become sections with stable anchors, safe HTML, plain text and citations.

Everything here is what a reader (or the page built from a stored article) would see: the
anchors in the table of contents, the HTML put on the page, the text that is searched and
counted, and the problems an editor is told about.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from schema.rendering import (
    LEAD_ANCHOR,
    WORDS_PER_MINUTE,
    RenderedBody,
    RenderProblem,
    render_markdown,
    sanitize,
    slugify,
)

# --- helpers -------------------------------------------------------------------------------


class _Elements(HTMLParser):
    """Every start tag in a piece of HTML with its attributes (entities decoded, as a browser)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def _elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


_DANGEROUS_TAGS = {
    *("script", "style", "iframe", "frame", "object", "embed", "svg", "math"),
    *("base", "form", "meta", "link", "noscript", "template"),
}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "cite", "data", "srcset", "xlink:href"}


def _assert_safe(html: str) -> None:
    """No element or attribute through which the HTML could run code or restyle the page."""
    for tag, attrs in _elements(html):
        assert tag not in _DANGEROUS_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, html)
            assert name != "style", (tag, html)
            if name in _URL_ATTRIBUTES:
                # Browsers ignore ASCII whitespace and control characters inside a scheme.
                scheme = re.sub(r"[\x00-\x20]", "", value).lower().partition(":")[0]
                assert scheme not in ("javascript", "vbscript", "data"), (tag, name, html)
    assert "<script" not in html.lower()
    assert "<style" not in html.lower()
    assert "<iframe" not in html.lower()


def _assert_all_safe(body: RenderedBody) -> None:
    _assert_safe(body.html)
    for section in body.sections:
        _assert_safe(body.section_html(section))


def _anchors(body: RenderedBody) -> list[str]:
    return [section.anchor for section in body.sections]


# --- anchors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Raynaud’s Syndrome & You", "raynauds-syndrome-you"),
        ("Raynaud's Syndrome", "raynauds-syndrome"),
        ("Café au lait", "cafe-au-lait"),
        ("Über Schlaf", "uber-schlaf"),
        ("Vitamin B12: Dose (mg)?", "vitamin-b12-dose-mg"),
        ("Sleep *and* **Stress**", "sleep-and-stress"),
        ("  What   now -- exactly?  ", "what-now-exactly"),
    ],
)
def test_anchor_is_ascii_lowercase_hyphenated_heading(heading: str, anchor: str) -> None:
    body = render_markdown(f"## {heading}\n\nText.\n")

    assert _anchors(body) == [anchor]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", anchor)
    assert slugify(heading.replace("*", "")) == anchor


def test_heading_of_symbols_only_still_gets_an_anchor() -> None:
    body = render_markdown("## ???\n\na\n\n## !!!\n\nb\n")

    assert _anchors(body) == ["section", "section-2"]


def test_repeated_headings_get_numbered_suffixes_at_any_level() -> None:
    body = render_markdown("## Dose\n\na\n\n### Dose\n\nb\n\n## Dose\n\nc\n\n#### dose\n\nd\n")

    assert _anchors(body) == ["dose", "dose-2", "dose-3", "dose-4"]


def test_suffixed_anchor_does_not_collide_with_a_heading_that_slugs_to_it() -> None:
    body = render_markdown("## Dose 2\n\na\n\n## Dose\n\nb\n\n## Dose\n\nc\n")

    anchors = _anchors(body)
    assert anchors[:2] == ["dose-2", "dose"]
    assert len(set(anchors)) == len(anchors) == 3


def test_heading_called_introduction_does_not_take_the_lead_anchor() -> None:
    body = render_markdown("Lead.\n\n## Introduction\n\nMore.\n\n## Introduction\n\nEven more.\n")

    assert _anchors(body) == [LEAD_ANCHOR, "introduction-2", "introduction-3"]
    assert LEAD_ANCHOR == "introduction"
    assert body.html.count('id="introduction"') == 0


def test_anchors_are_stable_across_renders_and_later_edits() -> None:
    source = "Lead.\n\n## Café\n\na\n\n## Café\n\nb\n\n### Raynaud’s\n\nc\n"

    first, second = render_markdown(source), render_markdown(source)
    extended = render_markdown(source + "\n## Café\n\nd\n\n## New part\n\ne\n")

    assert _anchors(first) == _anchors(second) == [LEAD_ANCHOR, "cafe", "cafe-2", "raynauds"]
    assert first.html == second.html
    assert _anchors(extended)[:4] == _anchors(first)
    assert _anchors(extended)[4:] == ["cafe-3", "new-part"]


def test_headings_in_body_html_carry_their_anchor_as_id() -> None:
    body = render_markdown("Lead.\n\n## Café & Tea\n\na\n\n### Dose\n\nb\n\n## Dose\n\nc\n")

    headings = [(tag, attrs) for tag, attrs in _elements(body.html) if re.fullmatch("h[1-6]", tag)]
    assert headings == [
        ("h2", {"id": "cafe-tea"}),
        ("h3", {"id": "dose"}),
        ("h2", {"id": "dose-2"}),
    ]
    for anchor, _heading, level in body.table_of_contents:
        assert f'<h{level} id="{anchor}">' in body.html


def test_ids_in_body_html_are_unique_even_with_raw_html_headings() -> None:
    body = render_markdown('<h2 id="dose">Raw heading</h2>\n\n## Dose\n\nText.\n')

    ids = [attrs["id"] for _tag, attrs in _elements(body.html) if "id" in attrs]
    assert len(ids) == len(set(ids)), ids


# --- sections ------------------------------------------------------------------------------


def test_body_is_split_at_every_heading_level() -> None:
    source = "# One\n\na\n\n## Two\n\nb\n\n### Three\n\nc\n\n#### Four\n\nd\n\n## Five\n\ne\n"

    body = render_markdown(source)

    assert [(s.heading, s.level) for s in body.sections] == [
        ("One", 1),
        ("Two", 2),
        ("Three", 3),
        ("Four", 4),
        ("Five", 2),
    ]
    assert [body.section_text(s) for s in body.sections] == ["a", "b", "c", "d", "e"]


def test_text_before_the_first_heading_is_the_untitled_lead_section() -> None:
    body = render_markdown("First *lead* paragraph.\n\nSecond.\n\n## Dose\n\nTake it.\n")

    lead = body.sections[0]
    assert (lead.anchor, lead.heading, lead.level) == (LEAD_ANCHOR, None, 0)
    assert body.section_text(lead) == "First lead paragraph.\n\nSecond."
    assert body.section_html(lead) == "<p>First <em>lead</em> paragraph.</p>\n<p>Second.</p>\n"


@pytest.mark.parametrize(
    "source",
    [
        "## Dose\n\nTake it.\n",
        "\n\n\n## Dose\n\nTake it.\n",
        "[ref]: https://example.com\n\n## Dose\n",
    ],
)
def test_no_lead_section_when_nothing_precedes_the_first_heading(source: str) -> None:
    body = render_markdown(source)

    assert [s.anchor for s in body.sections] == ["dose"]
    assert all(s.heading is not None for s in body.sections)


def test_empty_body_has_no_sections() -> None:
    body = render_markdown("")

    assert body.sections == []
    assert body.html == body.text == ""
    assert body.table_of_contents == []


def test_no_lead_section_when_only_removed_markup_precedes_the_first_heading() -> None:
    body = render_markdown("<script>alert(1)</script>\n\n## Dose\n\nTake it.\n")

    assert [s.anchor for s in body.sections] == ["dose"]


def test_section_html_and_text_are_that_sections_content_without_its_heading() -> None:
    source = (
        "Lead.\n\n"
        "## Magnesium\n\nIt **helps**.\n\n- one\n- two\n\n"
        "### Dose\n\nTake *300 mg*.\n\n"
        "## Risks\n\nFew.\n"
    )

    body = render_markdown(source)

    html = {s.anchor: body.section_html(s) for s in body.sections}
    text = {s.anchor: body.section_text(s) for s in body.sections}
    assert html == {
        LEAD_ANCHOR: "<p>Lead.</p>\n",
        "magnesium": "<p>It <strong>helps</strong>.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n",
        "dose": "<p>Take <em>300 mg</em>.</p>\n",
        "risks": "<p>Few.</p>\n",
    }
    assert text == {
        LEAD_ANCHOR: "Lead.",
        "magnesium": "It helps.\n\none\n\ntwo",
        "dose": "Take 300 mg.",
        "risks": "Few.",
    }
    for section in body.sections:
        assert "<h" not in body.section_html(section)
        # The stored spans index the stored body, as a reader of the database uses them.
        assert body.html[slice(*section.html_span)] == body.section_html(section)
        assert body.text[slice(*section.text_span)] == body.section_text(section)


def test_section_with_only_a_heading_has_empty_content() -> None:
    body = render_markdown("## Empty\n\n## Full\n\nText.\n")

    empty, full = body.sections
    assert (body.section_html(empty), body.section_text(empty)) == ("", "")
    assert (body.section_html(full), body.section_text(full)) == ("<p>Text.</p>\n", "Text.")


def test_table_of_contents_lists_headings_in_order_without_the_lead() -> None:
    body = render_markdown("Lead.\n\n## Café\n\na\n\n### Dose\n\nb\n\n## Risks & Benefits\n\nc\n")

    assert body.table_of_contents == [
        ("cafe", "Café", 2),
        ("dose", "Dose", 3),
        ("risks-benefits", "Risks & Benefits", 2),
    ]


# --- sanitizing ----------------------------------------------------------------------------

HOSTILE_HTML = [
    pytest.param("<script>alert('xss')</script>", id="script-block"),
    pytest.param("Hi <script>alert('xss')</script> there", id="script-inline"),
    pytest.param("<SCRIPT type='text/javascript'>alert('xss')</SCRIPT>", id="script-uppercase"),
    pytest.param("<img src=x onerror=alert(1)>", id="img-onerror"),
    pytest.param('Text <img src="x" onerror="alert(1)"> inline', id="img-onerror-inline"),
    pytest.param('<p onclick="alert(1)">click</p>', id="p-onclick"),
    pytest.param('<a href="https://e.com" onmouseover="alert(1)">l</a>', id="a-onmouseover"),
    pytest.param("<details open ontoggle=alert(1)>x</details>", id="details-ontoggle"),
    pytest.param("<svg onload=alert(1)>", id="svg-onload"),
    pytest.param('<a href="javascript:alert(1)">x</a>', id="a-javascript"),
    pytest.param('<a href="JaVaScRiPt:alert(1)">x</a>', id="a-javascript-mixed-case"),
    pytest.param('<a href="jav&#x09;ascript:alert(1)">x</a>', id="a-javascript-entity-tab"),
    pytest.param('<a href=" javascript:alert(1)">x</a>', id="a-javascript-leading-space"),
    pytest.param('<a href="vbscript:msgbox(1)">x</a>', id="a-vbscript"),
    pytest.param('<a href="data:text/html,<script>alert(1)</script>">x</a>', id="a-data"),
    pytest.param('<img src="javascript:alert(1)">', id="img-javascript"),
    pytest.param("<style>body { display: none }</style>", id="style-block"),
    pytest.param("Text <style>p { color: red }</style> after", id="style-inline"),
    pytest.param('<p style="position:fixed;top:0">cover</p>', id="style-attribute"),
    pytest.param('<span style="color:red">red</span> text', id="style-attribute-inline"),
    pytest.param('<iframe src="https://evil.example"></iframe>', id="iframe"),
    pytest.param('Text <iframe src="https://evil.example"></iframe> inline', id="iframe-inline"),
    pytest.param('<object data="x.swf"></object><embed src="x.swf">', id="object-embed"),
    pytest.param('<form action="javascript:alert(1)"><button>b</button></form>', id="form"),
    pytest.param('<base href="javascript:alert(1)//">', id="base"),
    pytest.param("<meta http-equiv=refresh content='0;url=javascript:alert(1)'>", id="meta"),
    pytest.param(
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        id="noscript-mutation",
    ),
    pytest.param("<div>\n<script>alert(2)</script>\n</div>", id="script-in-html-block"),
]
# Markdown's own link syntax: markdown-it must refuse these URLs before any HTML exists.
HOSTILE_MARKDOWN = [
    pytest.param("[x](javascript:alert(1))", id="md-link-javascript"),
    pytest.param("[x](JaVaScRiPt:alert(1))", id="md-link-javascript-mixed-case"),
    pytest.param("[x](javascript&colon;alert(1))", id="md-link-javascript-entity"),
    pytest.param("![x](javascript:alert(1))", id="md-image-javascript"),
    pytest.param("[x][evil]\n\n[evil]: javascript:alert(1)", id="md-reference-javascript"),
    pytest.param("<javascript:alert(1)>", id="md-autolink-javascript"),
    pytest.param("[x](data:text/html;base64,PHNjcmlwdD4=)", id="md-link-data"),
]
HOSTILE = HOSTILE_HTML + HOSTILE_MARKDOWN


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_markup_is_removed_from_the_lead_section(hostile: str) -> None:
    body = render_markdown(f"Before.\n\n{hostile}\n\nAfter.\n\n## Next\n\nText.\n")

    _assert_all_safe(body)
    assert body.sections[0].anchor == LEAD_ANCHOR


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_markup_is_removed_from_a_titled_section(hostile: str) -> None:
    body = render_markdown(f"## Dose\n\nBefore.\n\n{hostile}\n\nAfter.\n\n## Next\n\nText.\n")

    _assert_all_safe(body)
    dose = body.sections[0]
    assert dose.anchor == "dose"
    assert "<p>After.</p>" in body.section_html(dose)
    assert body.section_html(body.sections[1]) == "<p>Text.</p>\n"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_markup_in_a_heading_is_removed(hostile: str) -> None:
    body = render_markdown(f"## Dose {hostile}\n\nText.\n")

    _assert_all_safe(body)


def test_script_and_style_text_is_not_in_the_plain_text() -> None:
    source = (
        "Lead <script>stealCookies()</script> text.\n\n"
        "<script>\nblockScript()\n</script>\n\n"
        "## Dose <script>headingScript()</script>\n\n"
        "Inline <style>p { secretStyle: 1 }</style> style.\n\n"
        "<style>\nblockStyle { }\n</style>\n\n"
        "Still here.\n"
    )

    body = render_markdown(source)

    for payload in ("stealCookies", "blockScript", "headingScript", "secretStyle", "blockStyle"):
        assert payload not in body.text
        assert payload not in body.html
        for section in body.sections:
            assert payload not in body.section_text(section)
            assert payload not in (section.heading or "")
    assert "Still here." in body.text
    assert body.table_of_contents == [("dose", "Dose", 2)]


def test_script_in_a_code_block_is_shown_as_escaped_text() -> None:
    body = render_markdown("```html\n<script>alert(1)</script>\n```\n\nUse `<script>` wisely.\n")

    _assert_all_safe(body)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body.html
    assert "<code>&lt;script&gt;</code>" in body.html


def test_markdown_links_and_images_with_javascript_urls_are_not_links() -> None:
    source = "[click](javascript:alert(1)) and ![pic](javascript:alert(2)) and [ok](https://e.com)"

    body = render_markdown(source)

    _assert_all_safe(body)
    links = [attrs.get("href") for tag, attrs in _elements(body.html) if tag == "a"]
    images = [attrs.get("src") for tag, attrs in _elements(body.html) if tag == "img"]
    assert links == ["https://e.com"]
    assert all(src is None or not src.lower().startswith("javascript") for src in images)


def test_raw_html_link_with_javascript_url_loses_its_href() -> None:
    body = render_markdown('See <a href="javascript:alert(1)">this</a>.\n')

    _assert_all_safe(body)
    [attrs] = [a for t, a in _elements(body.html) if t == "a"]
    assert "href" not in attrs
    assert "this" in body.html


def test_ordinary_markup_survives_sanitizing() -> None:
    source = (
        "## Notes\n\n"
        "Some *em*, **strong**, `code` and a [link](https://example.com/a?b=1&c=2).\n\n"
        "- one\n- two\n\n"
        "1. first\n2. second\n\n"
        "> quoted\n\n"
        "```\nfenced code\n```\n\n"
        "![alt text](https://example.com/pic.png)\n\n"
        "---\n"
    )

    body = render_markdown(source)

    [section] = body.sections
    for html in (body.html, body.section_html(section)):
        assert "<em>em</em>" in html
        assert "<strong>strong</strong>" in html
        assert "<code>code</code>" in html
        assert '<a href="https://example.com/a?b=1&amp;c=2"' in html
        assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
        assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in html
        assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html
        assert "<pre><code>fenced code\n</code></pre>" in html
        assert '<img src="https://example.com/pic.png" alt="alt text">' in html
        assert "<hr>" in html
    assert '<h2 id="notes">Notes</h2>' in body.html


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
        ("<style>p{}</style><p>x</p>", "<p>x</p>"),
        ('<img src="x" onerror="alert(1)">', '<img src="x">'),
        ('<p onclick="alert(1)" style="color:red">x</p>', "<p>x</p>"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        ('<iframe src="https://evil.example"></iframe>', ""),
        # ids are dropped too: anchors are the renderer's own, never an editor's.
        ('<h2 id="dose" onclick="x()" style="x">Dose</h2>', "<h2>Dose</h2>"),
    ],
)
def test_sanitize_removes_dangerous_markup(dirty: str, clean: str) -> None:
    assert sanitize(dirty) == clean
    _assert_safe(sanitize(dirty))


@pytest.mark.parametrize("hostile", HOSTILE_HTML)
def test_sanitize_alone_makes_hostile_html_safe(hostile: str) -> None:
    _assert_safe(sanitize(hostile))


def test_sanitize_keeps_ordinary_markup() -> None:
    html = (
        "<h3>Dose</h3><p><em>a</em> <strong>b</strong> <code>c</code></p>"
        "<ul><li>x</li></ul><blockquote><p>q</p></blockquote>"
        '<p><a href="mailto:a@b.org">m</a> <a href="#ref-smith">[1]</a></p>'
    )

    cleaned = sanitize(html)

    assert "<h3>Dose</h3>" in cleaned
    assert "<p><em>a</em> <strong>b</strong> <code>c</code></p>" in cleaned
    assert "<ul><li>x</li></ul><blockquote><p>q</p></blockquote>" in cleaned
    assert '<a href="mailto:a@b.org"' in cleaned
    assert '<a href="#ref-smith"' in cleaned


# --- plain text ----------------------------------------------------------------------------


def test_plain_text_has_no_tags_and_decodes_entities() -> None:
    source = (
        "Q&amp;A about **magnesium** &copy; 2024 &mdash; see [the study](https://e.com/?a=1&b=2)."
        "\n\n<span>Wrapped</span> word and `x < y` code.\n"
    )

    body = render_markdown(source)

    assert body.text == (
        "Q&A about magnesium © 2024 — see the study.\n\nWrapped word and x < y code."
    )
    assert "&amp;" not in body.text
    assert not re.search(r"</?[a-z][^>]*>", body.text)


def test_plain_text_includes_headings_between_section_texts() -> None:
    body = render_markdown("Lead *text*.\n\n## Café & Tea\n\nBody.\n\n### Dose\n\n- one\n- two\n")

    assert body.text == "Lead text.\n\nCafé & Tea\n\nBody.\n\nDose\n\none\n\ntwo"


def test_text_of_a_raw_html_block_is_in_the_plain_text() -> None:
    body = render_markdown("<div>\nVisible paragraph\n</div>\n\nAfter.\n")

    assert "Visible paragraph" in body.html
    assert "Visible paragraph" in body.text
    assert body.word_count == 3


# --- word count and reading time -----------------------------------------------------------


def test_word_count_counts_heading_and_body_words_not_markup() -> None:
    body = render_markdown("## Two words\n\nthree **four** [five](https://e.com)\n\n- six\n")

    assert body.word_count == 6


@pytest.mark.parametrize(
    ("words", "minutes"),
    [
        (0, 1),
        (1, 1),
        (WORDS_PER_MINUTE - 1, 1),
        (WORDS_PER_MINUTE, 1),
        (WORDS_PER_MINUTE + 1, 2),
        (2 * WORDS_PER_MINUTE, 2),
        (2 * WORDS_PER_MINUTE + 1, 3),
        (10 * WORDS_PER_MINUTE - 1, 10),
    ],
)
def test_reading_time_is_words_per_minute_rounded_up_at_least_one(words: int, minutes: int) -> None:
    # Paragraphs of ten words, as real text would be.
    paragraphs = [" ".join(["word"] * 10)] * (words // 10) + [" ".join(["word"] * (words % 10))]
    body = render_markdown("\n\n".join(paragraphs))

    assert body.word_count == words
    assert body.reading_time_minutes == minutes


# --- citations -----------------------------------------------------------------------------


def _citation_links(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<sup><a href="(#ref-[^"]+)"[^>]*>(\[\d+\])</a></sup>', html)


def test_citations_become_numbered_links_in_reference_order() -> None:
    source = "Magnesium helps [@jones2019] and [@smith2020].\n\nAgain [@jones2019] and [@doi:10.1]."

    body = render_markdown(source, reference_keys=["smith2020", "jones2019", "doi:10.1"])

    assert _citation_links(body.html) == [
        ("#ref-jones2019", "[2]"),
        ("#ref-smith2020", "[1]"),
        ("#ref-jones2019", "[2]"),
        ("#ref-doi:10.1", "[3]"),
    ]
    assert "[@" not in body.html
    assert body.text == "Magnesium helps [2] and [1].\n\nAgain [2] and [3]."
    assert body.problems == []
    _assert_all_safe(body)


def test_citations_inside_emphasis_lists_and_quotes_are_linked() -> None:
    source = "*See [@a]*\n\n- item [@b]\n\n> quote [@a]\n"

    body = render_markdown(source, reference_keys=["a", "b"])

    assert _citation_links(body.html) == [("#ref-a", "[1]"), ("#ref-b", "[2]"), ("#ref-a", "[1]")]
    assert body.problems == []


def test_cites_are_recorded_per_section_once_each_in_citation_order() -> None:
    source = "Lead [@b].\n\n## Evidence\n\nFirst [@c], then [@a] and [@c] again.\n\n## None\n\nx\n"

    body = render_markdown(source, reference_keys=["a", "b", "c"])

    assert [(s.anchor, s.cites) for s in body.sections] == [
        (LEAD_ANCHOR, ("b",)),
        ("evidence", ("c", "a")),
        ("none", ()),
    ]
    evidence = body.sections[1]
    assert _citation_links(body.section_html(evidence)) == [
        ("#ref-c", "[3]"),
        ("#ref-a", "[1]"),
        ("#ref-c", "[3]"),
    ]


def test_unknown_citation_is_reported_with_its_source_line_and_left_as_text() -> None:
    source = (
        "Intro line [@known].\n"  # 1
        "\n"  # 2
        "## Evidence\n"  # 3
        "\n"  # 4
        "A study [@missing2021] found it.\n"  # 5
        "\n"  # 6
        "More text on\n"  # 7
        "two lines [@alsomissing].\n"  # 8
    )

    body = render_markdown(source, reference_keys=["known"])

    assert body.problems == [
        RenderProblem(5, "citation [@missing2021] names no reference"),
        RenderProblem(8, "citation [@alsomissing] names no reference"),
    ]
    assert "A study [@missing2021] found it." in body.html
    assert "[@missing2021]" in body.text
    assert "#ref-missing2021" not in body.html
    assert body.sections[1].cites == ()
    assert _citation_links(body.html) == [("#ref-known", "[1]")]


def test_unknown_citation_in_a_nested_block_reports_its_own_line() -> None:
    source = "Intro.\n\n- first item\n- second item\n  continued [@nope]\n\n> quote\n> [@gone]\n"

    body = render_markdown(source)

    assert [(p.line, p.message) for p in body.problems] == [
        (5, "citation [@nope] names no reference"),
        (8, "citation [@gone] names no reference"),
    ]


def test_without_references_every_citation_is_a_problem() -> None:
    body = render_markdown("One [@a].\n\nTwo [@b].\n")

    assert [p.line for p in body.problems] == [1, 3]
    assert _citation_links(body.html) == []


def test_citation_syntax_in_a_code_span_is_not_a_problem() -> None:
    body = render_markdown("Write citations as `[@key]`.\n")

    assert "<code>[@key]</code>" in body.html
    assert body.problems == []


# --- regressions found in review -------------------------------------------------------------


def test_script_spanning_blocks_is_in_neither_html_nor_text() -> None:
    source = "Intro\n\n<div>\n<script>alert(1)\n\n var secret = 1;</script></div>\n\nVisible.\n"

    rendered = render_markdown(source)

    assert "secret" not in rendered.html
    assert "secret" not in rendered.text
    assert rendered.text == "Intro\n\nVisible."


def test_a_heading_that_cites_is_a_problem_on_its_line() -> None:
    rendered = render_markdown("Lead.\n\n## Dosage [@a]\n\nText [@a].\n", reference_keys=["a"])

    assert [(p.line, p.message) for p in rendered.problems] == [
        (3, "a heading cannot cite [@a]: cite in the text below it")
    ]


def test_citation_line_counts_lines_inside_code_spans_and_inline_html() -> None:
    source = "Lead.\n\nText `code\nspan` then <span\nclass=x>y</span> and [@missing] here.\n"

    [problem] = render_markdown(source).problems

    assert problem.line == 5
