"""`pgstack:modules`: which sql/<module>/ folders the stack deploys, into which schema, and how."""

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from .base import Flag, Identifier, Settings, identifier

MAX_AHEAD = 24
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _table_name(value: Any) -> str:
    """`leads` or `schema.leads`."""
    for part in str(value).split("."):
        identifier(part)
    return str(value)


TableName = Annotated[str, BeforeValidator(_table_name)]


class MonthlyPartitions(Settings):
    """modules[i].partitions.<table>: monthly partitions of a partitioned table of the module."""

    interval: str = "month"
    start: date  # first day of the first month; fixed, so no month ever leaves the set
    ahead: int = 3  # months created ahead of the current one

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("must be an object {interval: month, start: YYYY-MM, ahead: N}")
        if "start" not in value:  # said the way a wrong start is said
            return {**value, "start": None}
        return value

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        if value != "month":
            raise ValueError(f"must be month (the only interval supported), not {value!r}")
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> date:
        match = _MONTH.match(str(value)) if isinstance(value, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"must be the first month as YYYY-MM, not {value!r}")
        return date(int(match.group(1)), int(match.group(2)), 1)

    @field_validator("ahead", mode="before")
    @classmethod
    def _ahead(cls, value: Any) -> int:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AHEAD:
            raise ValueError(f"must be a whole number of months from 0 to {MAX_AHEAD}, not {value!r}")
        return value


class PartitionSpec(Settings):
    """One partitioned table's monthly partitions, with the config key it came from."""

    key: str  # e.g. "modules[2].partitions.event", for later errors and `source`
    table: str
    start: date
    ahead: int
    interval: str


class ModuleConfig(Settings):
    name: Identifier
    schema_: Identifier = Field(alias="schema")
    external_tables: tuple[TableName, ...] = ()  # "leads" or "schema.leads"
    create_schema: Flag = True  # false for schemas that already exist; public's default
    partitions_: dict[Identifier, MonthlyPartitions] = Field(default_factory=dict, alias="partitions")
    # Extensions the module declares that this stack does not install (the embedded dev
    # PostgreSQL is built without pgcrypto); checked against the module when it is loaded.
    skip_extensions: tuple[Identifier, ...] = ()
    # Load sql/<module>/sample/*.sql (dev only: refused unless safety.allow_data_loss).
    sample_data: Flag = False
    # Take over objects that exist already, as they are, without DDL (README, "Adopting an
    # existing database"); an object that differs from its file is refused.
    adopt: Flag = False
    key: str = Field("", exclude=True)  # modules[i], set by the stack settings

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("must be an object with name and schema")
        if "create_schema" not in value and value.get("schema") == "public":
            value = {**value, "create_schema": False}
        return value

    @field_validator("partitions_", mode="before")
    @classmethod
    def _partitions(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("must map table names to {interval: month, start: YYYY-MM, ahead: N}")
        return value

    @property
    def schema(self) -> str:  # type: ignore[override]
        return self.schema_

    @property
    def partitions(self) -> tuple[PartitionSpec, ...]:
        return tuple(PartitionSpec(key=f"{self.key}.partitions.{table}", table=table, start=spec.start,
                                   ahead=spec.ahead, interval=spec.interval)
                     for table, spec in self.partitions_.items())
