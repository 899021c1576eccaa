"""Fuzzers for the whole pipeline (issue 13): mutated sources and generated programs.

``python -m tests.fuzz mutate|programs ...`` runs them from the repository root; the
classes of results, the commands and what each checks are in docs/architecture.md
("Fuzzing"). Modules: ``vocabulary`` (tokens mutations insert), ``mutate`` (seed corpus and
mutations), ``programs`` (the grammar-based program generator, reusable by differential
tests), ``inputs`` (random values of declared shapes and the smoke run of a generated
module), ``pipeline`` (one case, in-process), ``workers`` (processes with per-case
timeouts), ``minimize`` (delta debugging of failing inputs), ``campaign`` (a run: counts
and findings).
"""
