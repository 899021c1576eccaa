"""The gmc language front end: grammar, parser, AST with source spans, pretty-printer."""
