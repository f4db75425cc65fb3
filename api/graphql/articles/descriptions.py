"""What an article's editor-written fields mean, written once: the `Article` type and its
parts describe their fields with these, and so do `ArticleInput`, `ArticlePatch` and the
inputs nested in them (which override only where the input differs: a slug for an object,
a default, what null does)."""

from __future__ import annotations

ARTICLE = {
    "slug": "Unique, URL-safe name (lowercase, digits, hyphens).",
    "title": "Headline.",
    "summary": "One-paragraph summary.",
    "published_at": "When first published (UTC); publishing sets it to now if unset.",
    "canonical_url": "Where the article was first published, when that is not this service "
    "(then `url` is it too); null when its own page here is canonical.",
    "hero_image_url": "Lead image URL.",
    "hero_image_alt": "Lead image alternative text.",
    "hero_image_credit": "Lead image credit.",
    "seo_title": "Title for search results, if not the headline.",
    "seo_description": "Description for search results.",
    "disclaimer": "Medical disclaimer to show with the article.",
    "quotes": "Expert quotes, in body order.",
    "references": "Cited sources, in citation order.",
}

REFERENCE = {
    "key": "The key the body cites it by.",
    "title": "Title of the source.",
    "url": "Where to read it (http or https).",
    "doi": "Digital Object Identifier, like 10.1000/xyz.",
    "pubmed_id": "PubMed id (PMID, digits).",
    "year": "Year of publication.",
    "publisher": "Journal or publisher.",
}

RELATED_POST = {
    "label": "A short tag shown on the card (e.g. `kidney stones`).",
    "excerpt": "Teaser text.",
}

REVIEW = {
    "reviewed_at": "When it was reviewed.",
    "next_review_due": "When it should be reviewed again.",
}

LICENSE = {
    "name": "Its name, e.g. `CC BY-NC-ND 4.0`.",
    "url": "Where its terms are, if anywhere.",
}

ATTRIBUTION = {
    "text": "As plain text.",
}
