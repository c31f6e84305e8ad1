"""Where the stack's database is and how carefully to change it: all the dynamic provider reads.

`provider_settings` is the one narrow function the provider calls (in `configure()`, with the
stack config the engine hands it): the `db_*` keys and `safety`, nothing else.
"""

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr

from ..model.hazards import BY_NAME, DATA_LOSS
from .base import ConfigError, Duration, Flag, Port, Settings, SslMode, as_postgres_duration, structured, validated


class Connection(Settings):
    """The `db_*` keys. The password is not here: it is read only where a connection is made."""

    host: str = Field("127.0.0.1", alias="db_host", min_length=1)
    port: Port = Field(5432, alias="db_port")
    dbname: str = Field("postgres", alias="db_name", min_length=1)
    user: str = Field("postgres", alias="db_user", min_length=1)
    sslmode: SslMode = Field("prefer", alias="db_sslmode")

    def kwargs(self, password: SecretStr | None) -> dict:
        """Arguments for psycopg.connect; the password is passed in, never kept here."""
        args: dict[str, Any] = dict(host=self.host, port=self.port, dbname=self.dbname, user=self.user,
                                    sslmode=self.sslmode, application_name="pgstack", connect_timeout=10)
        if password is not None:
            args["password"] = password.get_secret_value()
        return args


def _hazard_names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"must be a list of hazard names, or [all] (hazards: {', '.join(BY_NAME)})")
    if [str(v).lower() for v in value] == ["all"]:
        return tuple(BY_NAME)
    for item in value:
        if item not in BY_NAME:
            raise ValueError(f"{item!r} is not a hazard (hazards: {', '.join(BY_NAME)}, or all)")
    return tuple(dict.fromkeys(value))


class Safety(Settings):
    """`pgstack:safety`: what a change may do to this stack's data, and how long it may wait."""

    # The hazards this stack accepts without a per-statement approval in the SQL file.
    allow_hazards: Annotated[tuple[str, ...], BeforeValidator(_hazard_names)] = ()
    allow_data_loss: Flag = False  # the same as data_loss in allow_hazards
    # Online strategies for busy tables: CONCURRENTLY, NOT VALID + VALIDATE (see model/plan).
    online: Flag = False
    concurrent_indexes: Flag = False  # the older name of `online`
    lock_timeout: Duration = 5_000  # each try of a step waits this long for its locks
    lock_budget: Duration = 60_000  # tries are repeated, with backoff, for this long in all
    statement_timeout: Duration = 300_000
    build_timeout: Duration = 3_600_000  # index builds and VALIDATE, which read the whole table
    # Run an applied data migration again when its statements change (dev only: a strict stack
    # refuses the edit at preview, naming the file).
    rerun_migrations: Flag = False

    @property
    def online_changes(self) -> bool:
        return self.online or self.concurrent_indexes

    def accepts(self, hazard: str) -> bool:
        return hazard in self.allow_hazards or (hazard == DATA_LOSS.name and self.allow_data_loss)

    def timeouts(self) -> dict[str, str]:
        """The session settings every statement of a change runs under."""
        return {"lock_timeout": as_postgres_duration(self.lock_timeout),
                "statement_timeout": as_postgres_duration(self.statement_timeout)}


CONNECTION_KEYS = tuple(field.alias for field in Connection.model_fields.values() if field.alias)
PASSWORD_KEY = "db_password"


class ProviderSettings(Settings):
    connection: Connection
    safety: Safety
    password: SecretStr


def read_connection(get: Callable[[str], Any]) -> Connection:
    return validated(Connection, {key: get(key) for key in CONNECTION_KEYS if get(key) is not None})


def read_safety(get: Callable[[str], Any]) -> Safety:
    raw = get("safety")
    try:
        raw = structured(raw) if raw is not None else {}
    except ValueError as exc:
        raise ConfigError("safety", str(exc)) from None
    return validated(Safety, raw, prefix=("safety",))


def read_password(get: Callable[[str], Any]) -> SecretStr:
    password = get(PASSWORD_KEY)
    if not password:
        raise ConfigError(PASSWORD_KEY, "is not set: set the deploying user's password with "
                                        f"`pulumi config set --secret pgstack:{PASSWORD_KEY}`")
    return SecretStr(str(password))


def provider_settings(get: Callable[[str], Any]) -> ProviderSettings:
    """All the dynamic provider reads: connection, password and safety (`get` takes a key
    without the `pgstack:` namespace)."""
    return ProviderSettings(connection=read_connection(get), safety=read_safety(get), password=read_password(get))

