"""What the content is: tables, storage, rendering and the functions that read and write it.

Nothing in this package knows that HTTP or GraphQL exist.
"""
