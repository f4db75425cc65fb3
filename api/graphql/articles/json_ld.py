"""An article as schema.org JSON-LD: the MedicalWebPage, its people, topics and citations."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from api.context import context_of
from api.graphql.articles.licensing import license_of
from api.graphql.loaders import loaders_of
from schema import tables

_SCHEMA_TYPES = {
    tables.TopicKind.CONDITION: "MedicalCondition",
    tables.TopicKind.SUPPLEMENT: "DietarySupplement",
    tables.TopicKind.SYMPTOM: "MedicalSignOrSymptom",
    tables.TopicKind.GENERAL: "Thing",
}


async def json_ld(article: tables.Article, url: str, info: GraphQLResolveInfo) -> dict[str, Any]:
    """The article as schema.org JSON-LD (MedicalWebPage), `url` its canonical address."""
    loaders = loaders_of(info)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "headline": article.title,
        "name": article.title,
        "url": url,
        "mainEntityOfPage": url,
        "dateModified": article.updated_at.isoformat(),
        "publisher": {"@type": "Organization", "name": context_of(info).settings.publisher_name},
        "wordCount": article.word_count,
        "isAccessibleForFree": True,
    }
    # schema.org wants a URL or a CreativeWork: the licence's URL, or it named.
    licence = license_of(article, info)
    data["license"] = licence["url"] or {"@type": "CreativeWork", "name": licence["name"]}
    if article.summary:
        data["description"] = article.summary
    if article.published_at:
        data["datePublished"] = article.published_at.isoformat()
    if article.hero_image_url:
        data["image"] = article.hero_image_url
    topics = await loaders.topics_by_article_id.load(article.id)
    if topics:
        data["about"] = [
            {"@type": _SCHEMA_TYPES[tables.TopicKind(t.kind)], "name": t.name} for t, _ in topics
        ]
    if article.reviewer_id is not None and article.reviewed_at is not None:
        reviewer = await loaders.expert_by_id.load(article.reviewer_id)
        assert reviewer is not None  # deleting an expert clears `reviewer_id` (SET NULL)
        data["lastReviewed"] = article.reviewed_at.isoformat()
        data["reviewedBy"] = _person(reviewer)
    references = await loaders.references_by_article_id.load(article.id)
    if references:
        data["citation"] = [_citation(r) for r in references]
    return data


def _person(expert: tables.Expert) -> dict[str, Any]:
    person: dict[str, Any] = {"@type": "Person", "name": expert.name}
    if expert.honorific:
        person["honorificPrefix"] = expert.honorific
    if expert.credentials:
        person["honorificSuffix"] = expert.credentials
    if expert.specialty:
        person["knowsAbout"] = expert.specialty
    if expert.affiliation:
        person["affiliation"] = {"@type": "Organization", "name": expert.affiliation}
    if expert.profile_url:
        person["url"] = expert.profile_url
    return person


def _citation(reference: tables.Reference) -> dict[str, Any]:
    citation: dict[str, Any] = {"@type": "CreativeWork", "name": reference.title}
    if reference.url:
        citation["url"] = reference.url
    same_as = []
    if reference.doi:
        same_as.append(f"https://doi.org/{reference.doi}")
    if reference.pubmed_id:
        same_as.append(f"https://pubmed.ncbi.nlm.nih.gov/{reference.pubmed_id}/")
    if same_as:
        citation["sameAs"] = same_as
    if reference.year:
        citation["datePublished"] = str(reference.year)
    if reference.publisher:
        citation["publisher"] = reference.publisher
    return citation
