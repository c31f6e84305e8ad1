"""`pgstack:validation`: where the program checks the stack's whole schema on a scratch
PostgreSQL before any resource is declared (stack/validation/), or that it does not.

    pgstack:validation: {mode: embedded}    # the default: the embedded PostgreSQL 18, per run
    pgstack:validation:                     # another server, e.g. the PostgreSQL version of prod
      mode: server
      host: 127.0.0.1
      port: 5432
      dbname: postgres                      # where it connects to create the scratch database
      user: postgres                        # a superuser: it creates a database and roles
      password: {secret: validation_password}
    pgstack:validation: {mode: "off"}
    pgstack:validation: {cache: false}      # validate every run, even of statements that passed

Only the program reads it; the dynamic provider reads connection.py's keys and nothing else.
"""

from typing import Any, Literal

from pydantic import field_validator

from .access import SecretPassword
from .base import Identifier, Port, Settings, SslMode

MODES = ("embedded", "server", "off")
# The keys that say where the server is: read with mode `server` only.
SERVER_KEYS = ("host", "port", "dbname", "user", "sslmode", "password")


class Validation(Settings):
    mode: Literal["embedded", "server", "off"] = "embedded"
    host: str = "127.0.0.1"
    port: Port = 5432
    dbname: str = "postgres"
    user: str = "postgres"
    sslmode: SslMode = "prefer"
    password: SecretPassword | None = None
    # Extensions the target has and the validation server does not (the embedded PostgreSQL has
    # no pgcrypto): not created in the scratch database. Anything using them fails there.
    skip_extensions: tuple[Identifier, ...] = ()
    # A run whose statements and server are exactly those of a run that passed reports that
    # pass instead of validating again (stack/validation/remembered.py).
    cache: bool = True

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        if value is False:  # an unquoted `off` is YAML 1.1's false
            return "off"
        if value not in MODES:
            raise ValueError(f"must be one of {', '.join(MODES)}, not {value!r}")
        return value

    @property
    def password_key(self) -> str | None:
        """The secret config key holding the password, when one is configured."""
        return self.password.secret if self.password is not None else None

    def kwargs(self, password: str | None) -> dict:
        """Arguments for psycopg.connect to the server's maintenance database."""
        args: dict[str, Any] = dict(host=self.host, port=self.port, dbname=self.dbname, user=self.user,
                                    sslmode=self.sslmode, application_name="pgstack validation", connect_timeout=10)
        if password is not None:
            args["password"] = password
        return args
