"""The scaffold command: write a module's sql/ files from a live database's catalog, for a team
that adopts a database that exists already (README, "Adopting an existing database").

    python -m components.scaffold --stack prod --schema public --tables clients,lead_memory --module crm

A tool beside the layers, reading the catalog the way the provider does and writing what the
model parses: catalog.py (the queries), selection.py (what goes into which file, and what is
left out and why), statements.py (the server's definitions through pglast), render.py (the
files' text), cli.py (arguments, connection, password, writing).
"""
