"""Typed stack configuration, validated once, with errors that name the config key.

The same reader serves the Pulumi program (pulumi.Config) and the dynamic provider (the config
handed to `configure()`), so both see one definition of every key. Keys live under the project
namespace `pgstack:`.
"""

from dataclasses import dataclass, field
from typing import Any, Callable

from .access_settings import API_ROLES, BUILTIN_ROLES, GrantConfig, RoleConfig, read_grants, read_owner_role, read_roles
from .settings_base import DURATION, NAMESPACE, ConfigError, as_bool, as_identifier, read_object

TARGETS = ("postgres", "supabase")


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    dbname: str
    user: str
    sslmode: str

    def kwargs(self, password: str | None) -> dict:
        """Arguments for psycopg.connect; the password is passed in, never kept here."""
        args = dict(host=self.host, port=self.port, dbname=self.dbname, user=self.user, sslmode=self.sslmode,
                    application_name="pgstack", connect_timeout=10)
        if password:
            args["password"] = password
        return args


@dataclass(frozen=True)
class Safety:
    allow_data_loss: bool = False
    lock_timeout: str = "5s"
    statement_timeout: str = "5min"
    concurrent_indexes: bool = False


@dataclass(frozen=True)
class ModuleConfig:
    name: str
    schema: str
    external_tables: tuple[str, ...] = ()  # "leads" or "schema.leads"
    create_schema: bool = True  # false for schemas that already exist (public)


@dataclass(frozen=True)
class StackSettings:
    connection: Connection
    target: str
    safety: Safety
    modules: tuple[ModuleConfig, ...]
    owner_role: str = "pgstack_owner"
    roles: tuple[RoleConfig, ...] = field(default_factory=tuple)
    grants: tuple[GrantConfig, ...] = field(default_factory=tuple)

    def role_names(self) -> set[str]:
        """Every role policies and grants may name: the built-in API roles and the stack's own."""
        return set(API_ROLES) | {r.name for r in self.roles}


def read_connection(get: Callable[[str], Any]) -> Connection:
    port = get("db_port") or "5432"
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ConfigError("db_port", f"must be a port number, not {port!r}") from None
    return Connection(
        host=get("db_host") or "127.0.0.1",
        port=port,
        dbname=get("db_name") or "postgres",
        user=get("db_user") or "postgres",
        sslmode=get("db_sslmode") or "prefer",
    )


def read_safety(get: Callable[[str], Any]) -> Safety:
    raw = read_object(get, "safety", {})
    if not isinstance(raw, dict):
        raise ConfigError("safety", "must be an object")
    known = Safety.__dataclass_fields__
    for key in raw:
        if key not in known:
            raise ConfigError(f"safety.{key}", f"unknown key (known: {', '.join(known)})")
    values = {}
    for key in ("allow_data_loss", "concurrent_indexes"):
        if key in raw:
            values[key] = as_bool(raw[key], f"safety.{key}")
    for key in ("lock_timeout", "statement_timeout"):
        if key in raw:
            if not DURATION.match(str(raw[key])):
                raise ConfigError(f"safety.{key}", f"{raw[key]!r} is not a duration such as 5s, 500ms or 2min")
            values[key] = str(raw[key])
    return Safety(**values)


def read_modules(get: Callable[[str], Any]) -> tuple[ModuleConfig, ...]:
    raw = read_object(get, "modules", None)
    if not raw or not isinstance(raw, list):
        raise ConfigError("modules", "must list the schema modules to deploy, e.g. [{name: tracking, schema: public}]")
    modules = []
    for i, item in enumerate(raw):
        key = f"modules[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(key, "must be an object with name and schema")
        unknown = set(item) - {"name", "schema", "external_tables", "create_schema"}
        if unknown:
            raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key (known: name, schema, external_tables, create_schema)")
        name = as_identifier(item.get("name"), f"{key}.name")
        schema = as_identifier(item.get("schema"), f"{key}.schema")
        external = item.get("external_tables", [])
        if not isinstance(external, list):
            raise ConfigError(f"{key}.external_tables", "must be a list of table names")
        for j, table in enumerate(external):
            for part in str(table).split("."):
                as_identifier(part, f"{key}.external_tables[{j}]")
        if any(m.name == name for m in modules):
            raise ConfigError(f"{key}.name", f"module {name} is listed twice")
        create_schema = as_bool(item.get("create_schema", schema != "public"), f"{key}.create_schema")
        modules.append(ModuleConfig(name, schema, tuple(external), create_schema))
    return tuple(modules)


def read_settings(get: Callable[[str], Any]) -> StackSettings:
    target = get("target") or "postgres"
    if target not in TARGETS:
        raise ConfigError("target", f"must be one of {', '.join(TARGETS)}, not {target!r}")
    modules = read_modules(get)
    owner = read_owner_role(get)
    roles = read_roles(get, owner)
    known_roles = set(API_ROLES) | {r.name for r in roles}
    return StackSettings(
        connection=read_connection(get),
        target=target,
        safety=read_safety(get),
        modules=modules,
        owner_role=owner,
        roles=roles,
        grants=read_grants(get, {m.name for m in modules}, known_roles),
    )
