"""Kith's load harness: the writer alone, a bare-Starlette baseline, and wrk scenarios
against a real `kith serve`. Run everything with `python -m bench.run` (or `make bench`)."""
