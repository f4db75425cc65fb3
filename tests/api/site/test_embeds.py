"""The embed card and oEmbed: who may frame the card, oEmbed's JSON and XML per the spec,
the page URLs it knows however spelled, and odd numbers refused by name."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from tests.api.site.conftest import SITE, Tags, oembed, ok
from tests.api.site.content import (
    DRAFT,
    PAIN,
    REVIEWED,
)
from tests.helpers import make_key


def test_embed_card_and_who_may_frame_it(site: TestClient) -> None:
    response = ok(site, f"/embed/articles/{REVIEWED}?maxwidth=300")
    card = response.text
    assert "<h1><a href=" in card and "Fibromyalgia test notes" in card
    assert "Review overdue by Dr. Test Reviewer" in card
    assert "min read" in card and 'class="card narrow"' in card
    assert f'<a href="{SITE}/articles/{REVIEWED}" target="_blank" rel="noopener">' in card
    assert "<script" not in card
    assert response.headers["content-security-policy"].endswith("frame-ancestors *")
    assert "x-frame-options" not in response.headers

    key = make_key(
        site.database_url,  # type: ignore[attr-defined]
        "partner",
        [],
        origins=["https://partner.example"],
    )
    prefix = key.split("_")[1]
    keyed = ok(site, f"/embed/articles/{REVIEWED}?key={prefix}")
    policy = keyed.headers["content-security-policy"]
    assert policy.endswith("frame-ancestors https://partner.example")
    assert site.get(f"/embed/articles/{REVIEWED}?key={key}").status_code == 400
    assert site.get(f"/embed/articles/{REVIEWED}?key=0123456789").status_code == 404
    assert site.get(f"/embed/articles/{REVIEWED}?maxwidth=wide").status_code == 400


def test_oembed_answers_per_the_spec(site: TestClient) -> None:
    page = f"{SITE}/articles/{PAIN}"
    response = oembed(site, page)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    answer = response.json()
    assert answer["version"] == "1.0" and answer["type"] == "rich"
    assert answer["provider_name"] == "Health Content"
    assert answer["provider_url"] == f"{SITE}/"
    assert answer["width"] == 480 and answer["height"] == 320
    assert isinstance(answer["cache_age"], int)
    frame = Tags(answer["html"]).find("iframe")[0]
    assert frame["src"] == f"{SITE}/embed/articles/{PAIN}?maxwidth=480"
    assert frame["width"] == "480" and frame["title"] == answer["title"]

    small = oembed(site, page, maxwidth="300", maxheight="200").json()
    assert (small["width"], small["height"]) == (300, 200)

    xml = oembed(site, page, format="xml")
    assert xml.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "oembed" and root.findtext("type") == "rich"
    assert root.findtext("html") == answer["html"]

    assert oembed(site, page, format="yaml").status_code == 501
    assert oembed(site, f"{SITE}/articles/{DRAFT}").status_code == 404
    assert oembed(site, f"https://elsewhere.example/articles/{PAIN}").status_code == 404
    assert oembed(site, f"{SITE}/topics/magnesium").status_code == 404
    assert site.get("/oembed").status_code == 400
    assert oembed(site, page, maxwidth="-5").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        f"/embed/articles/{PAIN}?maxwidth=%C2%B2",
        f"/embed/articles/{PAIN}?maxwidth=%D9%A3%D9%A0%D9%A0",
        f"/oembed?url={quote(f'{SITE}/articles/{PAIN}', safe='')}&maxheight=%C2%B2",
        f"/embed/articles/{PAIN}?maxwidth=0",
    ],
)
def test_odd_numbers_are_refused_by_name(site: TestClient, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 400 and "must be a positive whole number" in response.text


@pytest.mark.parametrize(
    "url",
    [
        f"https://HEALTH.example/articles/{PAIN}",
        f"https://health.example:443/articles/{PAIN}",
        f"https://health.example/articles/{PAIN}/",
        f"https://health.example/articles/{PAIN}?utm_source=x#top",
    ],
)
def test_oembed_knows_its_urls_however_spelled(site: TestClient, url: str) -> None:
    response = oembed(site, url)
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Magnesium For Chronic Pain: Does it Help?"


@pytest.mark.parametrize(
    "url",
    [
        f"http://health.example/articles/{PAIN}",
        f"https://health.example:8443/articles/{PAIN}",
        f"https://health.example.evil/articles/{PAIN}",
        f"https://health.example/articles/{PAIN}/more",
        f"https://health.example/articles/../articles/{PAIN}",
        f"https://health.example:x/articles/{PAIN}",
    ],
)
def test_oembed_refuses_other_urls(site: TestClient, url: str) -> None:
    assert oembed(site, url).status_code == 404
