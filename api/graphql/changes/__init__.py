"""The `changes` feed in GraphQL: the change outbox as a connection."""
