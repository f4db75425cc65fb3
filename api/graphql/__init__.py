"""The GraphQL schema: one module per domain, composed in `api.graphql.schema`."""
