"""The provider of a module's data migrations (see model/migrations.py): each runs once.

Whether a migration was applied is read from the journal (journal.py), which is written in the
same transaction as the migration's statements: so a migration whose COMMIT succeeded but whose
answer never reached the engine is not run again, and one that was rolled back is. A migration
runs its statements in order, in one transaction with the stack's timeouts, as the owner of the
module's tables: it is sample data's provider (sample_data.py) with a record of what ran, so
whatever guards the DML the deployer runs guards both. With
`row_security` off: should RLS apply to the owner (FORCE ROW LEVEL SECURITY), a statement fails
instead of silently changing only the rows a policy lets through.

A batched migration runs each statement on its own, again and again, each run its own
transaction, until it changes no row; the journal says it is done only after the last batch,
so an interrupted backfill resumes on the next `up` (its statements pick only rows still to
do). Each batch is checked for foreign triggers first, as sample_data.py checks its one
transaction (trigger_guard.py). To stop a statement that never converges, the batches of an UPDATE or DELETE are capped
at one more than the rows its table had when it started.

An applied migration whose statements change is refused at preview (diff), naming the file,
unless the stack's safety allows running it again (rerun_migrations, for dev). Deleting the
resource (removing the file) changes nothing: the rows stay, and so does the journal's record,
so the same migration restored later is not run again.
"""

from psycopg import Cursor, sql
from pulumi.dynamic import DiffResult
from pulumi.runtime.rpc import contains_unknowns

from ..settings import NAMESPACE
from . import catalog, journal, trigger_guard
from .errors import BatchDoesNotConverge, MigrationChanged
from .sample_data import SampleDataProvider, dml_steps


def _key(props: dict) -> str:
    return f"migration {props['schema']}.{props['module']}/{props['number']}"


def _journal_rows(cur: Cursor, schema: str, inputs: dict | None) -> catalog.Rows:
    """The journal's record of the migration `inputs` names, or of every migration of `schema`."""
    if inputs is not None:
        return {_key(inputs): journal.read(cur, _key(inputs))}
    return {key: entry for key, entry in journal.entries(cur).items() if key.startswith(f"migration {schema}.")}


def _applied_checksum(entry: dict | None, inputs: dict) -> dict | None:
    """The checksum of the migration as last applied (None: never, or not to the end)."""
    done = (entry or {}).get("applied", {}).get("checksum")
    return {"checksum": (done, done)} if done else None


# Read like a catalog kind (one object, or a snapshot for a refresh), from the journal.
applied_migration = catalog.Kind(_journal_rows, _key, _applied_checksum)


class MigrationProvider(SampleDataProvider):
    kind = "migration"
    # The module and the number are the migration; a new schema is new tables to migrate.
    replace_on = ("schema", "module", "number")
    delete_before_replace = False
    introspect = staticmethod(applied_migration)
    session_settings = {"row_security": "off"}

    def object_id(self, props):
        return f"{props['schema']}.{props['module']}/{props['number']}"

    def journal_key(self, props):
        return _key(props)

    def comparable(self, props):
        # What runs, as the checksum says, and where; not which lines the statements are on.
        return {k: props.get(k) for k in ("schema", "module", "number", "checksum", "owner")}

    def plan_create(self, props):
        return dml_steps(props["statements"], transactional=not props.get("batched"))

    def plan_update(self, old, new):
        return self.plan_create(new)

    def plan_towards(self, recorded, live, new):
        if live is None:
            return self.plan_create(new)
        if live["checksum"][0] == new["checksum"]:
            return []
        self._refuse_rerun(new, live["checksum"][0])
        return self.plan_create(new)

    def fingerprints(self, props, live):
        return {"checksum": props["checksum"]}  # once its steps ran, or when it had run already

    # delete, inherited, changes nothing in the database (see above).

    def diff(self, id_, olds, news):
        if contains_unknowns(news.get("checksum")):
            return DiffResult(changes=True)
        if olds.get("checksum") != news.get("checksum"):
            self._refuse_rerun(news, olds.get("checksum"))
        return super().diff(id_, olds, news)

    def _refuse_rerun(self, new: dict, applied: str | None) -> None:
        if not self._safety.rerun_migrations:
            raise MigrationChanged(new.get("source", "unknown source"), new["module"], applied, new["checksum"],
                                   NAMESPACE)

    def _execute(self, cur, props, step):
        if not props.get("batched"):
            return super()._execute(cur, props, step)
        # Outside a transaction block (psycopg's autocommit): each run commits on its own.
        statement = next(s for s in props["statements"] if s["sql"] == step.statement.as_string(cur))
        cur.execute("SELECT set_config('row_security', 'off', false)")
        try:
            cap = None
            if statement["action"] != "insert into":
                row = cur.execute(sql.SQL("SELECT count(*) FROM {}").format(
                    sql.Identifier(props["schema"], statement["table"]))).fetchone()
                cap = row[0] + 1 if row else None
            batches = 0
            while True:
                # Each batch in its own transaction, checked first like any DML the deployer runs.
                with cur.connection.transaction():
                    trigger_guard.refuse_foreign_triggers(cur, props, self._where(props))
                    super()._execute(cur, props, step)
                batches += 1
                if cur.rowcount == 0:
                    return
                if cap is not None and batches > cap:
                    raise BatchDoesNotConverge(
                        f"{self._where(props)}: {step.description}: batch {batches} still changed {cur.rowcount} "
                        f"rows, more batches than the table had rows: the statement does not converge (its WHERE "
                        f"must leave out the rows it has done). The batches that ran are committed; fix the "
                        f"migration before the next up")
        finally:
            cur.execute("RESET row_security")
