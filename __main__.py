"""Pulumi entry point: everything lives in components/ (see components/stack/program.py)."""

from components.stack.program import build

build()
