"""Who may do what: `pgstack:owner_role`, `pgstack:roles` and `pgstack:grants`.

A grant may only name a module the stack deploys, a role the stack knows and a privilege that
exists for its object type, so a typo fails at preview instead of granting nothing (or too
much) at apply. Those checks need the whole stack's settings and live in stack.py.
"""

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from ..supabase import BUILTIN_ROLES
from .base import Duration, Flag, Identifier, Settings

# What GRANT accepts per object type (PostgreSQL docs, "Privileges").
PRIVILEGES = {
    "schema": ("usage", "create"),
    "tables": ("select", "insert", "update", "delete", "truncate", "references", "trigger"),
    "sequences": ("usage", "select", "update"),
    "functions": ("execute",),
}
# What `[all]` grants: every privilege of the kind except TRIGGER. A role with TRIGGER on a table
# can attach a function of its own that then runs as whoever writes the table (the deployer
# loading sample data or migrating data included), so it is granted only by name, with a reason
# (GrantConfig.trigger_reason).
ALL = {kind: tuple(p for p in privileges if p != "trigger") for kind, privileges in PRIVILEGES.items()}
GENERATE = "generate"
DEFAULT_OWNER = "pgstack_owner"


class SecretPassword(Settings):
    secret: Identifier  # the secret config key holding it, without the namespace


class RoleConfig(Settings):
    name: Identifier
    login: Flag = False
    # `generate` (pulumi_random) or {secret: <config key>}; only login roles have one.
    password: Literal["generate"] | SecretPassword | None = None
    connection_limit: int = -1
    statement_timeout: Duration | None = None  # milliseconds
    member_of: tuple[Identifier, ...] = ()
    key: str = Field("", exclude=True)  # roles[i], set by the stack settings

    @classmethod
    def unknown_key_hint(cls, key: str) -> str:
        return " (no application role may bypass RLS; only service_role does)" if "bypass" in key else ""

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, name: str) -> str:
        if name in BUILTIN_ROLES or name == "public":
            raise ValueError(f"{name} is managed by the program; choose another name")
        return name

    @field_validator("password", mode="before")
    @classmethod
    def _password(cls, value: Any) -> Any:
        if value is None or value == GENERATE or (isinstance(value, dict) and set(value) == {"secret"}):
            return value
        # The value itself is not repeated: it may be a password written in plain text.
        raise ValueError(f"must be `{GENERATE}` or {{secret: <config key holding it>}}; never the password itself")

    @field_validator("connection_limit", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < -1:
            raise ValueError(f"must be a whole number, -1 for no limit, not {value!r}")
        return value

    @property
    def generated_password(self) -> bool:
        return self.password == GENERATE

    @property
    def password_key(self) -> str | None:
        """The secret config key holding the password, when it comes from config."""
        return self.password.secret if isinstance(self.password, SecretPassword) else None


def _privilege(kind: str):
    valid = PRIVILEGES[kind]

    def read(value: Any) -> str:
        name = str(value).lower()
        if name not in valid:
            raise ValueError(f"privilege {value!r} does not exist for {kind} (valid: {', '.join(valid)}, or all)")
        return name
    return Annotated[str, BeforeValidator(read)]


class GrantConfig(Settings):
    module: str
    role: str
    schema_: tuple[_privilege("schema"), ...] = Field((), alias="schema")  # type: ignore[valid-type]
    tables: tuple[_privilege("tables"), ...] = ()  # type: ignore[valid-type]
    sequences: tuple[_privilege("sequences"), ...] = ()  # type: ignore[valid-type]
    functions: tuple[_privilege("functions"), ...] = ()  # type: ignore[valid-type]
    # Why `role` may attach triggers to the module's tables: required with `tables: [..., trigger]`
    # and only then (checked with the rest of the stack in stack.py, naming the key).
    trigger_reason: str | None = None
    key: str = Field("", exclude=True)  # grants[i], set by the stack settings

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("must be an object with module, role and privileges")
        return value

    @field_validator("schema_", "tables", "sequences", "functions", mode="before")
    @classmethod
    def _all(cls, value: Any, info: ValidationInfo) -> Any:
        """`[all]` is every privilege of the kind but TRIGGER (ALL)."""
        kind = "schema" if info.field_name == "schema_" else str(info.field_name)
        if not isinstance(value, list):
            raise ValueError(f"must be a list of privileges ({', '.join(PRIVILEGES[kind])}, or all)")
        return list(ALL[kind]) if [str(p).lower() for p in value] == ["all"] else value

    @field_validator("schema_", "tables", "sequences", "functions")
    @classmethod
    def _once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))

    @property
    def schema(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.schema_
