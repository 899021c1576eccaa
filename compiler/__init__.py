"""The gmc compiler: graph IR, checks, symbolic simplification, LaTeX and code generation."""
