"""A stack's whole configuration (`pgstack:` keys), read and checked once, before any resource.

Each key is read into its model (connection.py, modules.py, access.py); what needs several keys
at once (a grant naming a module and a role, sample data only where data may be lost) is
checked here, and every error names the key to fix.
"""

import difflib
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import Field, field_validator

from ..supabase import API_ROLES, AUTHENTICATOR, BUILTIN_ROLES
from .access import DEFAULT_OWNER, GrantConfig, RoleConfig
from .base import NAMESPACE, ConfigError, Identifier, Settings, structured, validated
from .connection import CONNECTION_KEYS, PASSWORD_KEY, Connection, Safety
from .modules import ModuleConfig
from .validation import SERVER_KEYS, Validation

STRUCTURED_KEYS = ("safety", "modules", "roles", "grants", "validation")
TARGETS = ("postgres", "supabase")


class StackSettings(Settings):
    db_host: str = "127.0.0.1"
    db_port: Any = 5432  # checked by Connection
    db_name: str = "postgres"
    db_user: str = "postgres"
    db_sslmode: str = "prefer"
    target: Literal["postgres", "supabase"] = "postgres"
    safety: Safety = Field(default_factory=Safety)
    modules: tuple[ModuleConfig, ...]
    owner_role: Identifier = DEFAULT_OWNER
    roles: tuple[RoleConfig, ...] = ()
    grants: tuple[GrantConfig, ...] = ()
    validation: Validation = Field(default_factory=Validation)

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> Any:
        if value not in TARGETS:
            raise ValueError(f"must be one of {', '.join(TARGETS)}, not {value!r}")
        return value

    @property
    def connection(self) -> Connection:
        return Connection.model_validate({key: getattr(self, key) for key in CONNECTION_KEYS})

    def role_names(self) -> set[str]:
        """Every role policies and grants may name: the built-in API roles and the stack's own."""
        return set(API_ROLES) | {r.name for r in self.roles}

    def password_keys(self) -> set[str]:
        """The secret config keys the stack reads passwords from."""
        keys = {PASSWORD_KEY} | {r.password_key for r in self.roles if r.password_key}
        return keys | ({self.validation.password_key} if self.validation.password_key else set())


def _raw(get: Callable[[str], Any], key: str) -> Any:
    value = get(key)
    if value is None or key not in STRUCTURED_KEYS:
        return value
    try:
        return structured(value)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def _keyed(items: tuple, prefix: str) -> tuple:
    return tuple(item.model_copy(update={"key": f"{prefix}[{i}]"}) for i, item in enumerate(items))


def read_settings(get: Callable[[str], Any], keys: Iterable[str] = ()) -> StackSettings:
    """The stack's settings from `get(key)` (a key without the namespace). `keys`: every
    `pgstack:` key the stack config sets, so a misspelt one is an error, not a silent default."""
    fields = [field.alias or name for name, field in StackSettings.model_fields.items()]
    raw = {key: _raw(get, key) for key in fields if get(key) is not None}
    if "modules" not in raw or not raw["modules"] or not isinstance(raw["modules"], list):
        raise ConfigError("modules", "must list the schema modules to deploy, e.g. [{name: tracking, schema: public}]")
    validated(Connection, {k: raw[k] for k in CONNECTION_KEYS if k in raw})  # port, sslmode
    settings = validated(StackSettings, raw)
    settings = settings.model_copy(update={"modules": _keyed(settings.modules, "modules"),
                                           "roles": _keyed(settings.roles, "roles"),
                                           "grants": _keyed(settings.grants, "grants")})
    _check_owner(settings)
    _check_modules(settings)
    _check_roles(settings)
    _check_grants(settings)
    _check_validation(settings)
    _check_keys(settings, keys)
    return settings


def _check_owner(settings: StackSettings) -> None:
    if settings.owner_role in BUILTIN_ROLES or settings.owner_role == "public":
        raise ConfigError("owner_role", f"{settings.owner_role} is a built-in role; the owner must be a role "
                                        "no one logs in as")


def _check_modules(settings: StackSettings) -> None:
    seen: set[str] = set()
    for module in settings.modules:
        if module.name in seen:
            raise ConfigError(f"{module.key}.name", f"module {module.name} is listed twice")
        seen.add(module.name)
        # Sample rows mix with real ones, so only a stack whose data is disposable may load
        # them: the data-loss setting is what tells a dev stack from prod.
        if module.sample_data and not settings.safety.allow_data_loss:
            raise ConfigError(f"{module.key}.sample_data", "sample data is only for stacks whose data is "
                                                           "disposable (safety.allow_data_loss: true)")


def _check_roles(settings: StackSettings) -> None:
    owner = settings.owner_role
    names: set[str] = set()
    for role in settings.roles:
        if role.name == owner:
            raise ConfigError(f"{role.key}.name", f"{role.name} is managed by the program; choose another name")
        if role.name in names:
            raise ConfigError(f"{role.key}.name", f"role {role.name} is listed twice")
        names.add(role.name)
        if role.login and role.password is None:
            raise ConfigError(f"{role.key}.password",
                              f"login role {role.name} needs a password: `generate` "
                              "or {secret: <config key>} (set with `pulumi config set --secret`)")
        if not role.login and role.password is not None:
            raise ConfigError(f"{role.key}.password", f"role {role.name} cannot log in (login: false), so it has "
                                                      "no password")
    known = set(BUILTIN_ROLES) | names
    for role in settings.roles:
        for i, parent in enumerate(role.member_of):
            if parent == owner:
                raise ConfigError(f"{role.key}.member_of[{i}]", f"no role may be a member of the owner role {owner}: "
                                                                "it would act as the owner of every table")
            if parent not in known or parent in (role.name, AUTHENTICATOR):
                choices = ", ".join(sorted(known - {role.name, AUTHENTICATOR}))
                raise ConfigError(f"{role.key}.member_of[{i}]", f"{parent} is not a role {role.name} can be a "
                                                                f"member of (known: {choices})")


def _check_grants(settings: StackSettings) -> None:
    modules = {m.name for m in settings.modules}
    roles = settings.role_names()
    seen: set[tuple[str, str]] = set()
    for grant in settings.grants:
        if grant.module not in modules:
            raise ConfigError(f"{grant.key}.module", f"unknown module {grant.module!r} (the stack deploys: "
                                                     f"{', '.join(sorted(modules))})")
        if grant.role not in roles:
            raise ConfigError(f"{grant.key}.role", f"unknown role {grant.role!r} (known: {', '.join(sorted(roles))})")
        if (grant.module, grant.role) in seen:
            raise ConfigError(f"{grant.key}.role", f"module {grant.module} already has a grant for {grant.role}; "
                                                   "merge them")
        seen.add((grant.module, grant.role))
        _check_trigger(grant)


def _check_trigger(grant: GrantConfig) -> None:
    """TRIGGER on a table lets the grantee run its own code as whoever writes the table, the
    deployer included: only with a written reason (the owner, who needs no grant, has it anyway)."""
    if "trigger" not in grant.tables:
        if grant.trigger_reason is not None:
            raise ConfigError(f"{grant.key}.trigger_reason", "is only read with `trigger` in tables (this grant "
                                                             f"has {', '.join(grant.tables) or 'no table privilege'})")
        return
    if grant.trigger_reason is None:
        raise ConfigError(f"{grant.key}.tables", f"TRIGGER lets {grant.role} attach its own functions to module "
                          f"{grant.module}'s tables, which then run as whoever writes them (the deployer too); "
                          f"it is refused unless the grant says why: add `trigger_reason: \"<why {grant.role} "
                          f"needs it>\"` to {grant.key}, or remove trigger (`[all]` never includes it)")
    if not grant.trigger_reason.strip():
        raise ConfigError(f"{grant.key}.trigger_reason", f"must say why {grant.role} needs TRIGGER on module "
                                                         f"{grant.module}'s tables")


def _check_validation(settings: StackSettings) -> None:
    validation = settings.validation
    if validation.mode != "server":
        for key in SERVER_KEYS:
            if key in validation.model_fields_set:
                raise ConfigError(f"validation.{key}", f"is only read with mode: server (mode is {validation.mode})")


def _check_keys(settings: StackSettings, keys: Iterable[str]) -> None:
    """A `pgstack:` key the program does not read is almost always a typo (`pgstack:safty`)."""
    known = [field.alias or name for name, field in StackSettings.model_fields.items()]
    known += sorted(settings.password_keys())
    for full in sorted(keys):
        namespace, _, key = full.partition(":")
        if namespace != NAMESPACE or key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {NAMESPACE}:{close[0]}? " if close else ""
        raise ConfigError(key, f"unknown key: {hint}(known: {', '.join(known)})")
