"""Typed stack configuration, validated once, with errors that name the config key.

The same reader serves the Pulumi program (pulumi.Config) and the dynamic provider (the config
handed to `configure()`), so both see one definition of every key. Keys live under the project
namespace `pgstack:`.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from .access_settings import API_ROLES, GrantConfig, RoleConfig, read_grants, read_owner_role, read_roles
from .settings_base import DURATION, NAMESPACE, ConfigError, as_bool, as_identifier, read_object, reject_unknown_keys

TARGETS = ("postgres", "supabase")
MODULE_KEYS = ("name", "schema", "external_tables", "create_schema", "partitions", "skip_extensions", "sample_data")


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
class PartitionConfig:
    """modules[i].partitions.<table>: monthly partitions of a partitioned table of the module."""

    key: str  # the config key, e.g. "modules[2].partitions.event", for later errors and `source`
    table: str
    start: date  # first day of the first month; fixed, so no month ever leaves the set
    ahead: int = 3  # months created ahead of the current one
    interval: str = "month"


@dataclass(frozen=True)
class ModuleConfig:
    name: str
    schema: str
    external_tables: tuple[str, ...] = ()  # "leads" or "schema.leads"
    create_schema: bool = True  # false for schemas that already exist (public)
    partitions: tuple[PartitionConfig, ...] = ()
    # Extensions the module declares that this stack does not install (the embedded dev
    # PostgreSQL is built without pgcrypto); checked against the module when it is loaded.
    skip_extensions: tuple[str, ...] = ()
    # Load sql/<module>/sample/*.sql (dev only: refused unless safety.allow_data_loss).
    sample_data: bool = False
    key: str = ""


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
    reject_unknown_keys(raw, "safety", tuple(Safety.__dataclass_fields__))
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


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
PARTITION_KEYS = ("interval", "start", "ahead")
MAX_AHEAD = 24


def read_partitions(raw, key: str) -> tuple[PartitionConfig, ...]:
    """`{event: {interval: month, start: "2026-01", ahead: 3}}` under modules[i].partitions."""
    if not isinstance(raw, dict):
        raise ConfigError(key, "must map table names to {interval: month, start: YYYY-MM, ahead: N}")
    result = []
    for table, spec in raw.items():
        table_key = f"{key}.{table}"
        as_identifier(table, table_key)
        if not isinstance(spec, dict):
            raise ConfigError(table_key, "must be an object {interval: month, start: YYYY-MM, ahead: N}")
        reject_unknown_keys(spec, table_key, PARTITION_KEYS)
        interval = spec.get("interval", "month")
        if interval != "month":
            raise ConfigError(f"{table_key}.interval", f"must be month (the only interval supported), not {interval!r}")
        match = _MONTH.match(str(spec.get("start", "")))
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ConfigError(f"{table_key}.start", f"must be the first month as YYYY-MM, not {spec.get('start')!r}")
        ahead = spec.get("ahead", 3)
        if isinstance(ahead, str) and ahead.isdigit():
            ahead = int(ahead)
        if isinstance(ahead, bool) or not isinstance(ahead, int) or not 0 <= ahead <= MAX_AHEAD:
            raise ConfigError(f"{table_key}.ahead", f"must be a whole number of months from 0 to {MAX_AHEAD}, not {ahead!r}")
        result.append(PartitionConfig(key=table_key, table=table, ahead=ahead, interval=interval,
                                      start=date(int(match.group(1)), int(match.group(2)), 1)))
    return tuple(result)


def read_modules(get: Callable[[str], Any]) -> tuple[ModuleConfig, ...]:
    raw = read_object(get, "modules", None)
    if not raw or not isinstance(raw, list):
        raise ConfigError("modules", "must list the schema modules to deploy, e.g. [{name: tracking, schema: public}]")
    modules = []
    for i, item in enumerate(raw):
        key = f"modules[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(key, "must be an object with name and schema")
        reject_unknown_keys(item, key, MODULE_KEYS)
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
        partitions = read_partitions(item.get("partitions", {}), f"{key}.partitions")
        skip = item.get("skip_extensions", [])
        if not isinstance(skip, list):
            raise ConfigError(f"{key}.skip_extensions", "must be a list of extension names")
        skip = tuple(as_identifier(e, f"{key}.skip_extensions[{j}]") for j, e in enumerate(skip))
        sample_data = as_bool(item.get("sample_data", False), f"{key}.sample_data")
        modules.append(ModuleConfig(name, schema, tuple(external), create_schema, partitions, skip, sample_data, key))
    return tuple(modules)


def check_sample_data(modules: tuple[ModuleConfig, ...], safety: Safety) -> None:
    """Sample rows mix with real ones, so only a stack whose data is disposable may load them:
    the data-loss setting is what tells a dev stack from prod."""
    for module in modules:
        if module.sample_data and not safety.allow_data_loss:
            raise ConfigError(f"{module.key}.sample_data", "sample data is only for stacks whose data is "
                                                           "disposable (safety.allow_data_loss: true)")


def read_settings(get: Callable[[str], Any]) -> StackSettings:
    target = get("target") or "postgres"
    if target not in TARGETS:
        raise ConfigError("target", f"must be one of {', '.join(TARGETS)}, not {target!r}")
    modules = read_modules(get)
    safety = read_safety(get)
    check_sample_data(modules, safety)
    owner = read_owner_role(get)
    roles = read_roles(get, owner)
    known_roles = set(API_ROLES) | {r.name for r in roles}
    return StackSettings(
        connection=read_connection(get),
        target=target,
        safety=safety,
        modules=modules,
        owner_role=owner,
        roles=roles,
        grants=read_grants(get, {m.name for m in modules}, known_roles),
    )
