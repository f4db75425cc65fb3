"""Topics in GraphQL: the type, the topic queries and the topic mutations."""
