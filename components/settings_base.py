"""Reading and checking single config values; every error names the `pgstack:` key."""

import json
import re
from typing import Any, Callable

NAMESPACE = "pgstack"
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")
DURATION = re.compile(r"^(\d+)\s*(ms|s|min|h)?$")
_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, None: 1}  # PostgreSQL's default unit is ms


class ConfigError(ValueError):
    def __init__(self, key: str, message: str):
        self.key = f"{NAMESPACE}:{key}"
        super().__init__(f"config {self.key}: {message}")


def read_object(get: Callable[[str], Any], key: str, default):
    """A structured value: the engine hands the program YAML objects and lists as JSON text."""
    raw = get(key)
    if raw is None:
        return default
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(key, f"is not valid JSON/YAML structure ({exc.msg})") from None
    return raw


def reject_unknown_keys(item: dict, key: str, known, hint: str = "") -> None:
    """The first key of `item` not in `known` is an error naming `<key>.<that key>`."""
    for field in item:
        if field not in known:
            raise ConfigError(f"{key}.{field}", f"unknown key (known: {', '.join(known)}){hint}")


def as_bool(value, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(key, f"must be true or false, not {value!r}")


def as_identifier(value, key: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ConfigError(key, f"{value!r} is not a valid lower-case PostgreSQL identifier")
    return value


def duration_ms(value: str) -> int:
    """Milliseconds of a duration already checked against DURATION ("30s", "2min", "500ms")."""
    number, unit = DURATION.match(str(value)).groups()
    return int(number) * _MS[unit]
