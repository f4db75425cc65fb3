"""How the content is served: GraphQL over HTTP, the site's pages and feeds, webhooks, and the
`healthcontent` command line. ARCHITECTURE.md walks through it module by module."""
