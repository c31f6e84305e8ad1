"""What the provider reports when it refuses or fails a change. The engine shows the message;
it is all a user sees, so it names the object, its file:line, the step and what to do."""

import psycopg

from .. import PgstackError


class ProviderError(PgstackError):
    """A change the provider refused or could not complete."""


class DataLossRefused(ProviderError):
    """A planned step would lose data and the stack's safety settings do not allow it."""


class NotConfigured(ProviderError):
    """An operation ran before the engine called configure()."""


class StepFailed(ProviderError):
    """PostgreSQL rejected a step. Keeps the SQLSTATE and PostgreSQL's own detail and hint,
    which often name what is in the way (the policy that reads a column, the row that breaks a
    constraint)."""

    def __init__(self, where: str, step: str, error: psycopg.Error, rolled_back: bool = True):
        diag = error.diag
        self.sqlstate = error.sqlstate
        self.detail = diag.message_detail
        self.hint = diag.message_hint
        primary = (diag.message_primary or str(error)).strip()
        message = f"{where}: {step} failed: {primary}"
        if self.detail:
            message += f" DETAIL: {self.detail}"
        if self.hint:
            message += f" HINT: {self.hint}"
        if self.sqlstate:
            message += f" (SQLSTATE {self.sqlstate})"
        message += (". The transaction was rolled back; nothing was changed." if rolled_back else ".")
        super().__init__(message)
