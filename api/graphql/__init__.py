"""The GraphQL schema: one package per domain (`articles`, `topics`, `experts`, `changes`),
each with its types, queries and mutations, composed in `api.graphql.schema`."""
