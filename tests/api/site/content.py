"""Content for the site's tests: the seed, plus a reviewed article filed under a subtopic only,
a draft, and (on request) an article whose title tries to break out of its page."""

from __future__ import annotations

from pathlib import Path

PAIN = "magnesium-for-chronic-pain"
STONES = "magnesium-for-kidney-stones"
REVIEWED = "fibromyalgia-test-notes"
DRAFT = "draft-test-notes"
HOSTILE_SLUG = "hostile-title-test"
HOSTILE_TITLE = "</script><script>alert(\"pwned\")</script> & <b>'quotes'</b>"

REVIEWER = """
- slug: test-reviewer
  name: Test Reviewer
  honorific: Dr.
  credentials: MD
  specialty: Test fixtures
"""

REVIEWED_MD = """---
title: Fibromyalgia test notes
summary: Filed under a subtopic of pain only, reviewed, with one reference.
status: published
published_at: 2026-01-02T10:00:00Z
topics: [fibromyalgia]
references:
  - key: test-ref
    title: A reference for the tests
    url: https://example.org/test-ref
    year: 2020
review:
  reviewer: test-reviewer
  reviewed_at: 2026-01-01
  next_review_due: 2026-02-01
license:
  name: CC BY 4.0
  url: https://creativecommons.org/licenses/by/4.0/
---
Lead paragraph of the test notes.

## What the tests check

Sections, citations [@test-ref] and the review box.

## Main

A heading whose anchor is a word the page itself might use as an id.
"""

DRAFT_MD = """---
title: Draft test notes
summary: Not public yet.
status: draft
topics: [pain]
---
A draft.
"""

HOSTILE_YAML = '"' + HOSTILE_TITLE.replace('"', '\\"') + '"'
HOSTILE_MD = f"""---
title: {HOSTILE_YAML}
summary: A title with markup and quotes in it.
status: published
topics: [magnesium]
---
Body.
"""


def write_site_content(content_dir: Path, hostile: bool = False) -> Path:
    with (content_dir / "experts.yaml").open("a") as experts:
        experts.write(REVIEWER)
    articles = content_dir / "articles"
    (articles / f"{REVIEWED}.md").write_text(REVIEWED_MD)
    (articles / f"{DRAFT}.md").write_text(DRAFT_MD)
    if hostile:
        (articles / f"{HOSTILE_SLUG}.md").write_text(HOSTILE_MD)
    return content_dir
