"""How the content is served: the command line today, GraphQL over HTTP next."""
