"""Articles in GraphQL: the type and its parts (`types`, `body`, `revisions`, `enums`),
JSON-LD and licensing, the article queries, and the article mutations."""
