"""Stack config for who may do what: the owner role, application roles and per-module grants.

Read by `settings.read_settings`; every error names its config key. A grant may only name a
module the stack deploys, a role the stack knows and a privilege that exists for its object
type, so a typo fails at preview instead of granting nothing (or too much) at apply.
"""

from dataclasses import dataclass
from typing import Any, Callable

from .settings_base import DURATION, ConfigError, as_bool, as_identifier, duration_ms, read_object, reject_unknown_keys

# Supabase's API roles. The program creates them on a plain-PostgreSQL target and only refers
# to them on Supabase, where they exist.
API_ROLES = ("anon", "authenticated", "service_role")
AUTHENTICATOR = "authenticator"
BUILTIN_ROLES = API_ROLES + (AUTHENTICATOR,)

# What GRANT accepts per object type (PostgreSQL docs, "Privileges").
PRIVILEGES = {
    "schema": ("usage", "create"),
    "tables": ("select", "insert", "update", "delete", "truncate", "references", "trigger"),
    "sequences": ("usage", "select", "update"),
    "functions": ("execute",),
}
ROLE_KEYS = ("name", "login", "password", "connection_limit", "statement_timeout", "member_of")
GRANT_KEYS = ("module", "role") + tuple(PRIVILEGES)
GENERATE = "generate"


@dataclass(frozen=True)
class Password:
    """Where a login role's password comes from: generated (pulumi_random) or a secret config key."""
    generate: bool = False
    config_key: str | None = None  # without the namespace, e.g. "analyst_password"


@dataclass(frozen=True)
class RoleConfig:
    name: str
    login: bool = False
    password: Password | None = None
    connection_limit: int = -1
    statement_timeout_ms: int | None = None
    member_of: tuple[str, ...] = ()
    key: str = ""  # the config key it came from, for later errors


@dataclass(frozen=True)
class GrantConfig:
    module: str
    role: str
    schema: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    sequences: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    key: str = ""


def read_owner_role(get: Callable[[str], Any]) -> str:
    owner = as_identifier(get("owner_role") or "pgstack_owner", "owner_role")
    if owner in BUILTIN_ROLES or owner == "public":
        raise ConfigError("owner_role", f"{owner} is a built-in role; the owner must be a role no one logs in as")
    return owner


def _password(raw, key: str) -> Password:
    if raw == GENERATE:
        return Password(generate=True)
    if isinstance(raw, dict) and set(raw) == {"secret"}:
        return Password(config_key=as_identifier(raw["secret"], f"{key}.secret"))
    raise ConfigError(key, f"must be `{GENERATE}` or {{secret: <config key holding it>}}, not {raw!r}")


def _role(item, key: str, owner: str) -> RoleConfig:
    if not isinstance(item, dict):
        raise ConfigError(key, "must be an object with at least a name")
    bypass = any("bypass" in str(field) for field in item)
    reject_unknown_keys(item, key, ROLE_KEYS, " (no application role may bypass RLS; only service_role does)" if bypass else "")
    name = as_identifier(item.get("name"), f"{key}.name")
    if name in BUILTIN_ROLES or name in ("public", owner):
        raise ConfigError(f"{key}.name", f"{name} is managed by the program; choose another name")
    login = as_bool(item.get("login", False), f"{key}.login")
    password = None
    if login:
        if "password" not in item:
            raise ConfigError(f"{key}.password", f"login role {name} needs a password: `{GENERATE}` "
                              "or {secret: <config key>} (set with `pulumi config set --secret`)")
        password = _password(item["password"], f"{key}.password")
    elif "password" in item:
        raise ConfigError(f"{key}.password", f"role {name} cannot log in (login: false), so it has no password")
    limit = item.get("connection_limit", -1)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < -1:
        raise ConfigError(f"{key}.connection_limit", f"must be a whole number, -1 for no limit, not {limit!r}")
    timeout = item.get("statement_timeout")
    if timeout is not None and not DURATION.match(str(timeout)):
        raise ConfigError(f"{key}.statement_timeout", f"{timeout!r} is not a duration such as 30s or 2min")
    member_of = item.get("member_of", [])
    if not isinstance(member_of, list):
        raise ConfigError(f"{key}.member_of", "must be a list of role names")
    return RoleConfig(name, login, password, limit, duration_ms(timeout) if timeout is not None else None,
                      tuple(as_identifier(r, f"{key}.member_of[{i}]") for i, r in enumerate(member_of)), key)


def read_roles(get: Callable[[str], Any], owner: str) -> tuple[RoleConfig, ...]:
    raw = read_object(get, "roles", [])
    if not isinstance(raw, list):
        raise ConfigError("roles", "must be a list of roles")
    roles = []
    for i, item in enumerate(raw):
        role = _role(item, f"roles[{i}]", owner)
        if any(r.name == role.name for r in roles):
            raise ConfigError(f"roles[{i}].name", f"role {role.name} is listed twice")
        roles.append(role)
    known = set(BUILTIN_ROLES) | {r.name for r in roles}
    for role in roles:
        for i, parent in enumerate(role.member_of):
            if parent == owner:
                raise ConfigError(f"{role.key}.member_of[{i}]", f"no role may be a member of the owner role {owner}: "
                                  "it would act as the owner of every table")
            if parent not in known or parent in (role.name, AUTHENTICATOR):
                raise ConfigError(f"{role.key}.member_of[{i}]", f"{parent} is not a role {role.name} can be a member "
                                  f"of (known: {', '.join(sorted(known - {role.name, AUTHENTICATOR}))})")
    return tuple(roles)


def _privileges(raw, key: str, kind: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ConfigError(key, f"must be a list of privileges ({', '.join(PRIVILEGES[kind])}, or all)")
    valid = PRIVILEGES[kind]
    if [str(p).lower() for p in raw] == ["all"]:
        return valid
    result = []
    for i, privilege in enumerate(raw):
        name = str(privilege).lower()
        if name not in valid:
            raise ConfigError(f"{key}[{i}]", f"privilege {privilege!r} does not exist for {kind} "
                              f"(valid: {', '.join(valid)}, or all)")
        result.append(name)
    return tuple(dict.fromkeys(result))


def read_grants(get: Callable[[str], Any], modules: set[str], roles: set[str]) -> tuple[GrantConfig, ...]:
    raw = read_object(get, "grants", [])
    if not isinstance(raw, list):
        raise ConfigError("grants", "must be a list of {module, role, schema, tables, sequences, functions}")
    grants = []
    for i, item in enumerate(raw):
        key = f"grants[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(key, "must be an object with module, role and privileges")
        reject_unknown_keys(item, key, GRANT_KEYS)
        module = item.get("module")
        if module not in modules:
            raise ConfigError(f"{key}.module", f"unknown module {module!r} (the stack deploys: {', '.join(sorted(modules))})")
        role = item.get("role")
        if role not in roles:
            raise ConfigError(f"{key}.role", f"unknown role {role!r} (known: {', '.join(sorted(roles))})")
        if any(g.module == module and g.role == role for g in grants):
            raise ConfigError(f"{key}.role", f"module {module} already has a grant for {role}; merge them")
        privileges = {kind: _privileges(item[kind], f"{key}.{kind}", kind) for kind in PRIVILEGES if kind in item}
        grants.append(GrantConfig(module, role, key=key, **privileges))
    return tuple(grants)
