"""Synthetic content of realistic size, for benchmarks and the large-load tests.

Each article: ~1,000 words in six headed sections, 3 topics, 1 quote (whose words are in the
body), 3 references cited in the body, 1 related link. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

WORDS = [
    "magnesium",
    "pain",
    "relief",
    "muscle",
    "calcium",
    "clinic",
    "patient",
    "study",
    "dose",
    "deficiency",
    "migraine",
    "headache",
    "sleep",
    "stress",
    "nerve",
    "tissue",
    "supplement",
    "diet",
    "kidney",
    "blood",
    "pressure",
    "evidence",
    "trial",
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "with",
    "for",
    "as",
    "on",
    "by",
    "can",
    "may",
    "which",
    "are",
    "from",
    "their",
    "this",
]


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, words: int) -> str:
    out, total = [], 0
    while total < words:
        n = rng.randint(8, 20)
        out.append(_sentence(rng, n))
        total += n
    return " ".join(out)


def write_content(
    root: Path,
    articles: int,
    *,
    topics: int = 40,
    experts: int = 20,
    edition: int = 1,
    seed: int = 7,
) -> Path:
    """Write topics.yaml, experts.yaml and `articles` Markdown files under `root`."""
    rng = random.Random(seed)
    (root / "articles").mkdir(parents=True, exist_ok=True)
    topic_rows = [
        {
            "slug": f"topic-{n}",
            "name": f"Topic {n}",
            "kind": ["supplement", "condition", "symptom", "general"][n % 4],
            **({"parent": f"topic-{n % 5}"} if n >= 5 else {}),
        }
        for n in range(topics)
    ]
    expert_rows = [
        {"slug": f"expert-{n}", "name": f"Expert {n}", "honorific": "Dr.", "specialty": "Pain"}
        for n in range(experts)
    ]
    (root / "topics.yaml").write_text(yaml.safe_dump(topic_rows, sort_keys=False))
    (root / "experts.yaml").write_text(yaml.safe_dump(expert_rows, sort_keys=False))
    for n in range(articles):
        quote = _sentence(rng, 12)
        refs = [
            {
                "key": f"ref{k}",
                "title": _sentence(rng, 8),
                "doi": f"10.1000/{n}.{k}",
                "year": 2000 + (n + k) % 25,
            }
            for k in range(3)
        ]
        sections = [f"Edition {edition}. {_paragraph(rng, 130)}"]
        for s in range(6):
            body = _paragraph(rng, 140)
            if s == 1:
                body += f" “{quote}” says the expert."
            if s < 3:
                body += f" As reported [@ref{s}]."
            sections.append(f"## Section {s} of article {n}\n\n{body}")
        front = {
            "slug": f"article-{n}",
            "title": f"Synthetic article {n}",
            "summary": _sentence(rng, 20),
            "status": "published",
            "published_at": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T08:00:00Z",
            "topics": [f"topic-{(n + k * 7) % topics}" for k in range(3)],
            "quotes": [{"expert": f"expert-{n % experts}", "text": quote, "context": "says"}],
            "references": refs,
            "related": [{"article": f"article-{(n + 1) % articles}"}] if articles > 1 else [],
        }
        text = "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n" + "\n\n".join(sections)
        (root / "articles" / f"article-{n}.md").write_text(text + "\n")
    return root
