"""What the provider reports when it refuses or fails a change. The engine shows the message;
it is all a user sees, so it names the object, its file:line, the step and what to do."""

import psycopg

from .. import PgstackError


class ProviderError(PgstackError):
    """A change the provider refused or could not complete."""


class HazardRefused(ProviderError):
    """A planned step has a hazard that neither the stack (pgstack:safety allow_hazards) nor the
    SQL file (an approval next to the statement) accepts. Nothing was run."""

    def __init__(self, what: str, source: str, refused: list):
        names = sorted({hazard.name for _, hazard in refused})
        lines = "; ".join(f"{step.description} [{hazard.describe()}]" for step, hazard in refused)
        super().__init__(
            f"{what} ({source}): refusing to {lines}. Nothing was changed. To approve this change, write "
            f"`-- pgstack: approve {', '.join(names)}: <why it is safe>` on the line above the statement in "
            f"{source.rsplit(':', 1)[0]} (reviewed in the pull request), or accept it for the whole stack with "
            f"pgstack:safety allow_hazards: [{', '.join(names)}].")


class ForeignTriggers(ProviderError):
    """Triggers the stack did not declare sit on tables the deployer is about to write."""


class AlreadyExists(ProviderError):
    """The object exists, and this tool did not make it: taking it over is adoption."""

    def __init__(self, kind: str, object_id: str, source: str):
        super().__init__(
            f"{kind} {object_id} ({source}) already exists in the database and was not created by pgstack. "
            "Nothing was changed. To take over an existing database, scaffold its SQL "
            "(python -m components.scaffold) and set `adopt: true` on the module in the stack config; "
            "otherwise rename the object or drop the existing one.")


class AdoptionRefused(ProviderError):
    """The object exists, the module adopts it, and it is not what its file declares."""

    def __init__(self, kind: str, object_id: str, source: str, differences: list[str]):
        self.differences = differences
        listed = "".join(f"\n  - {d}" for d in differences)
        super().__init__(
            f"{kind} {object_id} ({source}) exists in the database but differs from its declaration, so it was "
            f"not adopted. Nothing was changed. Differences:{listed}\n"
            "Adoption takes an object over only as it is: make the file say what the database holds (scaffold it "
            "again with python -m components.scaffold, or edit it), adopt, and change it afterwards.")


class MigrationChanged(ProviderError):
    """An applied data migration's statements changed: it would not run again."""

    def __init__(self, source: str, module: str, applied: str | None, declared: str, namespace: str):
        super().__init__(
            f"migration {source} (module {module}) was applied ({applied}) and its statements have changed since "
            f"({declared}). An applied migration never runs again, so the edit would do nothing. Nothing was "
            f"changed. Restore the file as it was applied and put the new change in a new migration (a higher "
            f"number); a dev stack may set `{namespace}:safety` rerun_migrations: true to run an edited migration "
            f"again.")


class BatchDoesNotConverge(ProviderError):
    """A batched migration statement kept changing rows past every row of its table."""


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


class LockBudgetSpent(ProviderError):
    """A step waited for its locks, with retries, for as long as the stack allows."""

    def __init__(self, what: str, budget_ms: int, blockers: list[dict]):
        self.blockers = blockers
        held = "; ".join(
            f"pid {b['pid']} ({b['application_name'] or 'no application name'}, {b['state']}, since "
            f"{b['query_start']:%H:%M:%S}: {b['query']!r})" if b.get("query_start") else f"pid {b['pid']}"
            for b in blockers) or "sessions that had let go by the time they were looked up"
        super().__init__(f"{what}: gave up after {budget_ms / 1000:g}s of retries waiting for locks held by {held}. "
                         "Nothing was changed; run `pulumi up` again when they are done, or raise "
                         "pgstack:safety lock_budget.")
