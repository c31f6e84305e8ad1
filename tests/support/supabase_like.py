"""Test code: a database prepared the way a Supabase project is, for deploying the `supabase`
target onto.

From supabase/postgres (migrations/db/migrate.sh, init-scripts/, migrations/): the init scripts
run as `postgres` while it is still a superuser, so `postgres` owns the database and schema
`extensions`; `auth` belongs to supabase_admin; anon, authenticated and service_role (BYPASSRLS)
exist, authenticator switches to them, and all get USAGE on `extensions` and `auth`; then
`postgres` is demoted (10000000000000_demote-postgres.sql: NOSUPERUSER CREATEDB CREATEROLE
LOGIN REPLICATION BYPASSRLS, ALL on schemas auth and extensions) and made a member of the API
roles (20230201083204). Extensions enabled from the dashboard are created by supabase_admin, a
superuser, in `extensions`.

Here the test cluster's superuser stands in for supabase_admin, and a login role of the test's
own (roles belong to the whole cluster, which the tests share) for the demoted `postgres`.
"""

import secrets
import uuid

import psycopg
from psycopg import sql

from components.supabase import API_ROLES, AUTH_SCHEMA, AUTH_SQL_DIR, AUTHENTICATOR, EXTENSIONS_SCHEMA

# Supabase's API roles, as the init scripts create them (the 2023 migration makes them INHERIT).
API_ROLE_OPTIONS = {"anon": "NOLOGIN INHERIT", "authenticated": "NOLOGIN INHERIT",
                    "service_role": "NOLOGIN INHERIT BYPASSRLS"}


def _ensure_role(admin: psycopg.Connection, name: str, options: str) -> None:
    if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        admin.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(name)))  # options: literals above


def prepare(server: dict, extensions: tuple[str, ...] = ("vector",)) -> dict:
    """A new Supabase-like database on `server` (superuser settings); the connection settings of
    its non-superuser `postgres` stand-in, which owns it."""
    deployer, password = f"supa_{uuid.uuid4().hex[:10]}", secrets.token_urlsafe(16)
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**server, autocommit=True) as admin:
        for role, options in API_ROLE_OPTIONS.items():
            _ensure_role(admin, role, options)
        _ensure_role(admin, AUTHENTICATOR, "LOGIN NOINHERIT")
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER CREATEDB CREATEROLE REPLICATION "
                              "BYPASSRLS").format(sql.Identifier(deployer), sql.Literal(password)))
        roles = sql.SQL(", ").join(sql.Identifier(r) for r in API_ROLES)
        admin.execute(sql.SQL("GRANT {} TO {}").format(roles, sql.Identifier(deployer)))
        admin.execute(sql.SQL("GRANT {} TO {}").format(roles, sql.Identifier(AUTHENTICATOR)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(deployer)))
    database = dict(server, dbname=name)
    with psycopg.connect(**database, autocommit=True) as admin:
        owner = sql.Identifier(deployer)
        admin.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(EXTENSIONS_SCHEMA), owner))
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(EXTENSIONS_SCHEMA), roles))
        for extension in extensions:  # "enabled from the dashboard"
            admin.execute(sql.SQL("CREATE EXTENSION {} WITH SCHEMA {}").format(
                sql.Identifier(extension), sql.Identifier(EXTENSIONS_SCHEMA)))
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(AUTH_SCHEMA)))
        for path in sorted(AUTH_SQL_DIR.glob("*.sql")):  # auth.uid(), auth.role(), auth.jwt()
            admin.execute("SET search_path TO auth")
            admin.execute(path.read_text())  # the project's own SQL file
            admin.execute("RESET search_path")
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(AUTH_SCHEMA), roles))
        admin.execute(sql.SQL("GRANT ALL ON SCHEMA {}, {} TO {}").format(
            sql.Identifier(AUTH_SCHEMA), sql.Identifier(EXTENSIONS_SCHEMA), owner))
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(roles))
    return dict(server, dbname=name, user=deployer, password=password)


def drop(server: dict, database: dict, roles: tuple[str, ...] = ()) -> None:
    """The database, then the deploying role and `roles` (the stack's own, made by the deployer)."""
    with psycopg.connect(**server, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database["dbname"])))
        for role in (*roles, database["user"]):
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
