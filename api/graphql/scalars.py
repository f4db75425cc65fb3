"""Scalars of our own."""

from __future__ import annotations

from typing import Any

import graphene
import orjson

# In JSON these can only occur inside strings, where \uXXXX means the same character. Escaped,
# the text can go into an HTML <script> element as it is: no `</script>` or `<!--` can end
# or change it, and no U+2028/U+2029 can break an older JavaScript parser.
_INERT = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def inert_json(value: Any) -> str:
    """`value` as JSON that is safe to put in a <script> element as it is."""
    return orjson.dumps(value).decode().translate(_INERT)


class JSONString(graphene.JSONString):
    """A JSON document, serialized as a string. `<`, `>`, `&`, U+2028 and U+2029 are
    escaped as \\u003c and so on, so the string can go into a `<script>` element as it is
    (JSON-LD's `<script type="application/ld+json">`) and still parses to the same data."""

    class Meta:
        name = "JSONString"

    @staticmethod
    def serialize(dt: Any) -> str:
        return inert_json(dt)
