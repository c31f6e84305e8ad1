"""Benchmarks: figures printed one line each, with their targets (README, "Benchmarks").
Run from the project folder: `.venv/bin/python -m bench` (see __main__.py)."""
