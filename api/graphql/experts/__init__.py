"""Experts and their quotes in GraphQL: the types, the expert queries and the expert
mutations."""
