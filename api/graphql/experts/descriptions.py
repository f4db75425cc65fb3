"""What an expert's and a quote's editor-written fields mean, written once: `Expert` and
`Quote` describe their fields with these, and so do `ExpertInput`, `ExpertPatch` and
`QuoteInput`."""

from __future__ import annotations

EXPERT = {
    "slug": "Unique, URL-safe name (lowercase, digits, hyphens).",
    "name": "Full name, without honorific.",
    "honorific": "Like `Dr.`",
    "credentials": "Like `MD, PhD`.",
    "specialty": "What they specialise in.",
    "affiliation": "Where they work.",
    "location": "Where they are based.",
    "practising_since": "Year they started practising.",
    "bio": "Short biography.",
    "profile_url": "Their profile page (http or https).",
}

QUOTE = {
    "text": "The quoted words, as in the body.",
    "context": "Attribution around them, like `says Rapson, who runs a busy Toronto pain clinic`.",
}
