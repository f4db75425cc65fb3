"""What a topic's editor-written fields mean, written once: `Topic` describes its fields with
these, and so do `TopicInput` and `TopicPatch`."""

from __future__ import annotations

TOPIC = {
    "slug": "Unique, URL-safe name (lowercase, digits, hyphens).",
    "name": "Display name.",
    "description": "What the topic covers.",
    "kind": "Supplement, condition, symptom or general.",
    "synonyms": "Other names for it.",
}
