"""Test code, not a product feature: a stand-in for the pulumi_postgresql (Terraform) provider
and for pulumi_random, which cannot be downloaded here.

For each resource kind the program declares it issues the SQL the real provider issues for
create, update and delete (cyrilgdn/terraform-provider-postgresql: resource_postgresql_*.go).
Anything else fails loudly. Two liberties, both because the test databases share one cluster
and roles are cluster-wide: creating a role that already exists (left by an earlier test)
brings it to the declared attributes instead of failing, and deleting a role only drops it
once nothing in any database depends on it.
"""

import secrets
import string
import threading

import psycopg
from psycopg import sql

SCHEMA = "postgresql:index/schema:Schema"
EXTENSION = "postgresql:index/extension:Extension"
ROLE = "postgresql:index/role:Role"
GRANT_ROLE = "postgresql:index/grantRole:GrantRole"
GRANT = "postgresql:index/grant:Grant"
DEFAULT_PRIVILEGES = "postgresql:index/defaultPrivileges:DefaultPrivileges"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
KINDS = (SCHEMA, EXTENSION, ROLE, GRANT_ROLE, GRANT, DEFAULT_PRIVILEGES, RANDOM_PASSWORD)

_PLURAL = {"table": "TABLES", "sequence": "SEQUENCES", "function": "FUNCTIONS"}


def _role(name: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if name == "public" else sql.Identifier(name)


def _privileges(inputs: dict) -> sql.Composable:
    assert all(p.isalpha() for p in inputs["privileges"]), inputs["privileges"]  # keywords only
    return sql.SQL(", ").join(sql.SQL(p) for p in inputs["privileges"])


class PostgresqlDouble:
    def __init__(self, database: dict):
        self.database = database
        # One connection per engine thread, as the real provider keeps its connections open.
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = self._local.conn = psycopg.connect(**self.database, autocommit=True)
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def create(self, typ: str, inputs: dict) -> dict:
        """Creates the resource; returns its outputs."""
        if typ == RANDOM_PASSWORD:
            alphabet = string.ascii_letters + string.digits
            return {**inputs, "result": "".join(secrets.choice(alphabet) for _ in range(int(inputs["length"])))}
        self._run(self._statements(typ, None, inputs))
        return inputs

    def update(self, typ: str, old: dict, new: dict) -> dict:
        if typ == RANDOM_PASSWORD:
            return {**new, "result": old["result"]}
        self._run(self._statements(typ, old, new))
        return new

    def delete(self, typ: str, inputs: dict) -> None:
        if typ != RANDOM_PASSWORD:
            self._run(self._statements(typ, inputs, None))

    def _run(self, statements: list[sql.Composable]) -> None:
        conn = self._connection()
        for statement in statements:
            conn.execute(statement)

    def _statements(self, typ: str, old: dict | None, new: dict | None) -> list[sql.Composable]:
        if typ == SCHEMA:
            return self._schema(old, new)
        if typ == EXTENSION:
            return self._extension(old, new)
        if typ == ROLE:
            return self._role_statements(old, new)
        if typ == GRANT_ROLE:
            return self._grant_role(old, new)
        if typ == GRANT:
            return self._grant(old, new)
        if typ == DEFAULT_PRIVILEGES:
            return self._default_privileges(old, new)
        raise NotImplementedError(f"the harness has no double for {typ}")

    # --- one method per kind -----------------------------------------------------------------

    def _schema(self, old, new):
        if new is None:
            return [sql.SQL("DROP SCHEMA IF EXISTS {}").format(sql.Identifier(old["name"]))]
        name = sql.Identifier(new["name"])
        statements = [sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name)]
        if new.get("owner"):
            statements.append(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(name, sql.Identifier(new["owner"])))
        return statements

    def _extension(self, old, new):
        if new is None:
            return [sql.SQL("DROP EXTENSION IF EXISTS {}").format(sql.Identifier(old["name"]))]
        statement = sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(new["name"]))
        if new.get("schema"):
            statement = sql.SQL("{} SCHEMA {}").format(statement, sql.Identifier(new["schema"]))
        return [statement]

    def _role_statements(self, old, new):
        if new is None:
            name = sql.Identifier(old["name"])
            return [sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(name),
                    sql.SQL("DROP OWNED BY {}").format(name),
                    sql.SQL("DO $$ BEGIN EXECUTE format('DROP ROLE %I', {}); "
                            "EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END $$").format(
                        sql.Literal(old["name"]))]
        name = sql.Identifier(new["name"])
        flag = lambda key, word: sql.SQL(word if new.get(key) else "NO" + word)  # noqa: E731
        options = sql.SQL(" ").join([
            flag("login", "LOGIN"), flag("bypassRowLevelSecurity", "BYPASSRLS"),
            sql.SQL("INHERIT" if new.get("inherit", True) else "NOINHERIT"),
            sql.SQL("CONNECTION LIMIT {}").format(sql.Literal(int(new.get("connectionLimit", -1)))),
            sql.SQL("PASSWORD {}").format(sql.Literal(new["password"])) if new.get("password") else sql.SQL("PASSWORD NULL"),
        ])
        statements = [
            sql.SQL("DO $$ BEGIN EXECUTE format('CREATE ROLE %I', {}); "
                    "EXCEPTION WHEN duplicate_object THEN NULL; END $$").format(sql.Literal(new["name"])),
            sql.SQL("ALTER ROLE {} {}").format(name, options),
        ]
        if new.get("statementTimeout"):
            statements.append(sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
                name, sql.Literal(int(new["statementTimeout"]))))
        else:
            statements.append(sql.SQL("ALTER ROLE {} RESET statement_timeout").format(name))
        return statements

    def _grant_role(self, old, new):
        statements = []
        if old is not None:
            statements.append(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(old["grantRole"]), sql.Identifier(old["role"])))
        if new is not None:
            statements.append(sql.SQL("GRANT {} TO {}").format(sql.Identifier(new["grantRole"]), sql.Identifier(new["role"])))
        return statements

    def _targets(self, inputs: dict) -> sql.Composable:
        kind, schema = inputs["objectType"], inputs.get("schema")
        if kind == "schema":
            return sql.SQL("SCHEMA {}").format(sql.Identifier(schema))
        objects = inputs.get("objects") or []
        if not objects:
            return sql.SQL("ALL {} IN SCHEMA {}").format(sql.SQL(_PLURAL[kind]), sql.Identifier(schema))
        if kind == "function":  # by name, every overload (as the provider does)
            signatures = [r[0] for r in self._connection().execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = %s AND p.proname = ANY(%s)", (schema, objects)).fetchall()]
            return sql.SQL("FUNCTION {}").format(sql.SQL(", ").join(sql.SQL(s) for s in signatures))
        return sql.SQL("{} {}").format(sql.SQL(kind.upper()), sql.SQL(", ").join(
            sql.Identifier(schema, o) for o in objects))

    def _grant(self, old, new):
        statements = []
        if old is not None:
            statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(self._targets(old), _role(old["role"])))
        if new is not None:  # authoritative: start from nothing, like the provider
            statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(self._targets(new), _role(new["role"])))
            if new["privileges"]:
                statements.append(sql.SQL("GRANT {} ON {} TO {}").format(
                    _privileges(new), self._targets(new), _role(new["role"])))
        return statements

    def _default_privileges(self, old, new):
        statements = []
        for inputs, grant in ((old, False), (new, True)):
            if inputs is None:
                continue
            prefix = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {}").format(
                sql.Identifier(inputs["owner"]), sql.Identifier(inputs["schema"]))
            objects = sql.SQL(_PLURAL[inputs["objectType"]])
            statements.append(sql.SQL("{} REVOKE ALL ON {} FROM {}").format(prefix, objects, _role(inputs["role"])))
            if grant and inputs["privileges"]:
                statements.append(sql.SQL("{} GRANT {} ON {} TO {}").format(
                    prefix, _privileges(inputs), objects, _role(inputs["role"])))
        return statements
