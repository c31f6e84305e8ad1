"""The building blocks of every `pgstack:` setting: pydantic models that forbid unknown keys and
never change once read, the value types they share, and errors that name the config key.

A value that cannot be read becomes one ConfigError, `config pgstack:<key>: <what is wrong>`,
with the key spelled the way it is written in Pulumi.<stack>.yaml: `modules[0].schema`.
"""

import difflib
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from .. import PgstackError

NAMESPACE = "pgstack"
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|min|h|d)?\s*$")
_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, None: 1}  # PostgreSQL: ms by default
# PostgreSQL keeps lock_timeout and statement_timeout as a 32-bit count of milliseconds.
MAX_DURATION_MS = 2**31 - 1
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class ConfigError(PgstackError):
    """A stack config value the program cannot use; `key` is the full `pgstack:` key."""

    def __init__(self, key: str, message: str):
        self.key = f"{NAMESPACE}:{key}"
        self.message = message
        super().__init__(f"config {self.key}: {message}")


class Settings(BaseModel):
    """Every settings model: unknown keys are errors, and a value once read never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def unknown_key_hint(cls, key: str) -> str:
        """Words added to the error for an unknown key (a model may explain a common mistake)."""
        return ""


def identifier(value: Any) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ValueError(f"{value!r} is not a valid lower-case PostgreSQL identifier")
    return value


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"must be true or false, not {value!r}")


def duration_ms(value: Any) -> int:
    """Milliseconds of a duration written as PostgreSQL writes them: 500ms, 5s, 2min, 1h, 1d
    (a bare number is milliseconds)."""
    match = _DURATION.match(str(value)) if not isinstance(value, bool) else None
    if match is None:
        raise ValueError(f"{value!r} is not a duration such as 5s, 500ms or 2min")
    number, unit = match.groups()
    ms = int(number) * _MS[unit]
    if ms > MAX_DURATION_MS:
        raise ValueError(f"{value!r} is longer than PostgreSQL accepts for a timeout (at most {MAX_DURATION_MS} ms, "
                         "about 24 days)")
    return ms


def _port(value: Any) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"must be a port number from 1 to 65535, not {value!r}")
    return int(text)


def _sslmode(value: Any) -> str:
    if value not in SSL_MODES:
        raise ValueError(f"must be one of {', '.join(SSL_MODES)}, not {value!r}")
    return value


Identifier = Annotated[str, BeforeValidator(identifier)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Duration = Annotated[int, BeforeValidator(duration_ms)]  # milliseconds
Port = Annotated[int, BeforeValidator(_port)]
SslMode = Annotated[str, BeforeValidator(_sslmode)]  # libpq's sslmode


def as_postgres_duration(ms: int) -> str:
    """A duration as a PostgreSQL setting value."""
    return f"{ms}ms"


def structured(raw: Any) -> Any:
    """A structured value as the program gets it: the engine hands YAML objects and lists over as
    JSON text."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not a valid JSON/YAML structure ({exc.msg})") from None
    return raw


def key_of(loc: tuple) -> str:
    """('modules', 0, 'schema') -> modules[0].schema"""
    key = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for a map's key: the key itself names it
            continue
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _model_at(model: type[Settings], path: tuple) -> type[Settings] | None:
    """The settings model found at `path` inside `model`, following fields, lists and maps."""
    current: Any = model
    for part in path:
        while True:  # unwrap Annotated, Optional, tuple[X, ...], dict[str, X]
            origin, args = typing.get_origin(current), typing.get_args(current)
            if origin is Annotated:
                current = args[0]
            elif origin in (typing.Union, types.UnionType):
                current = next((a for a in args if isinstance(a, type) and issubclass(a, Settings)), args[0])
            else:
                break
        origin, args = typing.get_origin(current), typing.get_args(current)
        if isinstance(current, type) and issubclass(current, Settings) and isinstance(part, str):
            field = current.model_fields.get(part) or next(
                (f for f in current.model_fields.values() if f.alias == part), None)
            if field is None:
                return None
            current = field.annotation
        elif origin in (tuple, list) and isinstance(part, int):
            current = args[0]
        elif origin in (dict, Mapping) and isinstance(part, str):
            current = args[1]
        else:
            return None
    while typing.get_origin(current) is Annotated:
        current = typing.get_args(current)[0]
    return current if isinstance(current, type) and issubclass(current, Settings) else None


def _field_names(model: type[Settings]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items() if not field.exclude]


def config_error(exc: ValidationError, model: type[Settings], prefix: tuple = ()) -> ConfigError:
    """The first problem pydantic found, as a ConfigError naming its key."""
    error = exc.errors(include_url=False)[0]
    loc = prefix + tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        owner = _model_at(model, tuple(error["loc"])[:-1])
        known = _field_names(owner) if owner else []
        unknown = str(loc[-1])
        close = difflib.get_close_matches(unknown, known, n=1)
        message = f"unknown key (known: {', '.join(known)})"
        if close:
            message = f"unknown key: did you mean {close[0]}? (known: {', '.join(known)})"
        return ConfigError(key_of(loc), message + (owner.unknown_key_hint(unknown) if owner else ""))
    if error["type"] == "missing":
        return ConfigError(key_of(loc), "is required")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        owner = _model_at(model, tuple(error["loc"]))
        message = f"must be an object with the keys {', '.join(_field_names(owner))}" if owner else "must be an object"
    elif error["type"] in ("tuple_type", "list_type"):
        message = "must be a list"
    return ConfigError(key_of(loc), message)


M = TypeVar("M", bound=Settings)


def validated(model: type[M], data: Any, prefix: tuple = ()) -> M:
    """`data` read into `model`, or the ConfigError of its first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, model, prefix) from None
