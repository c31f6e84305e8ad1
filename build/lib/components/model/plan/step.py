"""A planned step: one statement, what it does in words, and what it risks."""

from dataclasses import dataclass, field
from enum import Enum

from psycopg import sql

from ... import PgstackError
from ..hazards import Hazard


class PlanRefused(PgstackError):
    """The change has no ALTER in PostgreSQL and replacing the object would lose its data."""


class Timeout(Enum):
    """Which statement_timeout of the stack a step runs under."""

    STATEMENT = "statement"  # safety.statement_timeout
    BUILD = "build"  # safety.build_timeout: index builds and VALIDATE, which read the whole table


@dataclass
class Step:
    description: str
    statement: sql.Composable
    hazards: list[Hazard] = field(default_factory=list)
    # False: the step runs on its own, after everything before it has committed: CREATE/DROP
    # INDEX CONCURRENTLY cannot run in a transaction block, and VALIDATE CONSTRAINT should not
    # hold the locks the steps before it took.
    transactional: bool = True
    # Run as the object's owner role (SET ROLE), like every change; a handover to the owner
    # runs as the deploying user, who holds the object before it.
    as_owner: bool = True
    timeout: Timeout = Timeout.STATEMENT
