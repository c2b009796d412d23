"""Benchmarks: ``python -m bench NAME [--json FILE]``. Each measures a peer baseline in the same run."""
