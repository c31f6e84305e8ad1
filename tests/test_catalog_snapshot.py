"""`read` serves a refresh from one catalog snapshot per kind and schema (provider/snapshot.py),
and a preview's checks once a burst of them is under way: each object as the snapshot has it
must be exactly what reading that object alone returns, and no read or check may be served a
snapshot older than a change the same provider process made."""

import copy
import json
import time

import psycopg
import pytest
from psycopg import sql

from components.model.partitions import monthly_partitions
from components.provider import catalog
from components.provider.kinds import PolicyProvider, TableProvider
from components.provider.base import BURST
from components.provider.snapshot import IDLE, Snapshots
from components.settings import read_settings
from components.stack.loading import load_stack
from tests.support.engine import DEV_STACK_TODAY, PROJECT_DIR, stack_config, stack_file_config
from tests.support.provider_process import ProviderProcess
from tests.support.resources import POLICY, TABLE, Resource


def dev_objects() -> list[tuple[catalog.Kind, dict]]:
    """Every dynamic resource of the dev stack, as (catalog kind, inputs)."""
    settings = read_settings({k.split(":", 1)[1]: v for k, v in stack_file_config("dev").items()}.get)
    owner = {"owner": settings.owner_role}
    objects: list[tuple[catalog.Kind, dict]] = []
    for loaded in load_stack(settings, PROJECT_DIR / "sql", PROJECT_DIR).modules:
        module = loaded.module
        objects += [(catalog.table, {**t.inputs(), **(owner if t.owned else {})}) for t in module.tables]
        objects += [(catalog.index, i.inputs()) for i in module.indexes]
        objects += [(catalog.policy, p.inputs()) for p in module.policies]
        objects += [(catalog.function, {**f.inputs(), **owner}) for f in module.functions]
        objects += [(catalog.trigger, t.inputs()) for t in module.triggers]
        objects += [(catalog.view, {**v.inputs(), **owner}) for v in module.views]
        for spec in loaded.config.partitions:
            for partition in monthly_partitions(module.declared_table(spec.table), spec.start, spec.ahead,
                                                DEV_STACK_TODAY, source="config"):
                objects.append((catalog.partition, partition.inputs()))
        if loaded.sample_data:
            objects.append((catalog.sample_data, {**loaded.sample_data.inputs(), "schema": module.schema}))
    return objects


def test_live_snapshot_reads_every_dev_object_as_reading_it_alone_does(dev_stack):
    objects = dev_objects()
    assert {kind for kind, _ in objects} == {catalog.table, catalog.index, catalog.policy, catalog.function,
                                             catalog.trigger, catalog.partition, catalog.sample_data}  # no view
    with psycopg.connect(**dev_stack.database) as conn, conn.cursor() as cur:
        cur.execute("SET TimeZone TO 'UTC'")  # as the partition provider reads bounds
        snapshots: dict = {}
        for kind, inputs in objects:
            cur.execute(sql.SQL("SET search_path TO {}, public, extensions").format(sql.Identifier(inputs["schema"])))
            alone = kind(cur, inputs)
            assert alone is not None, inputs.get("name", inputs)
            rows = snapshots.setdefault((kind, inputs["schema"]), kind.snapshot(cur, inputs["schema"]))
            assert kind.from_rows(rows, inputs) == alone, inputs.get("name")
            gone = dict(inputs, name="no_such_object") if "name" in inputs else \
                dict(inputs, statements=[{"table": "no_such_table"}])
            assert kind(cur, gone) is None and kind.from_rows(rows, gone) is None


@pytest.fixture
def process(database):
    process = ProviderProcess(stack_config(database, safety=json.dumps({"allow_data_loss": False})))
    yield process
    process.close()


def test_live_a_read_after_a_change_by_the_same_process_sees_the_change(process, db):
    first = Resource(process, TableProvider(), TABLE)
    second_props = dict(copy.deepcopy(TABLE), name="ledger")
    second_props["constraints"] = [dict(c, name=c["name"].replace("accounts", "ledger"))
                                   for c in second_props["constraints"]]
    second = Resource(process, TableProvider(), second_props)
    first.refresh()  # the table snapshot of schema public is taken now, with ledger as it was
    wider = copy.deepcopy(second_props)
    wider["columns"].append({"name": "note", "type": "text"})
    assert second.apply(wider)["changes"] is True
    assert second.refresh() == "public.ledger"
    assert "note" in [c["name"] for c in second.outputs["columns"]]
    assert second.apply(wider)["changes"] is False  # no drift reported: the read saw the change


def test_live_each_read_of_a_resource_is_from_a_snapshot_taken_after_its_last_read(process, db):
    Resource(process, TableProvider(), TABLE)
    policy = Resource(process, PolicyProvider(), POLICY)
    assert policy.refresh() == "public.accounts.tenant_isolation"
    db.execute("ALTER POLICY tenant_isolation ON accounts USING (false)")
    assert policy.refresh() == "public.accounts.tenant_isolation"  # a second read: a new snapshot
    assert policy.outputs["using"] == "false"


def test_live_a_snapshot_is_not_served_after_a_pause_in_reads(process, db):
    table = Resource(process, TableProvider(), TABLE)
    policy = Resource(process, PolicyProvider(), POLICY)
    other = dict(POLICY, name="second_policy")
    second = Resource(process, PolicyProvider(), other)
    policy.refresh()  # the snapshot of public's policies, with second_policy as declared
    db.execute("DROP POLICY second_policy ON accounts")
    time.sleep(IDLE + 0.5)
    assert second.refresh() == ""  # read from a new snapshot: the policy is gone
    assert table.refresh() == "public.accounts"


def test_a_check_reads_alone_until_a_burst_then_from_one_snapshot_until_a_change():
    snapshots = Snapshots()
    taken = []

    def take():
        taken.append(1)
        return {"rows": len(taken)}

    assert [snapshots.rows("k", f"r{i}", take, burst=2) for i in range(2)] == [None, None]
    assert snapshots.rows("k", "r2", take, burst=2) == {"rows": 1}
    assert snapshots.rows("k", "r3", take, burst=2) == {"rows": 1} and len(taken) == 1
    snapshots.clear()  # a change: the next checks read alone again (an `up` interleaves them)
    assert snapshots.rows("k", "r4", take, burst=2) is None and len(taken) == 1
    assert snapshots.rows("k", "r5", take, burst=2) is None
    assert snapshots.rows("k", "r6", take, burst=2) == {"rows": 2}
    assert snapshots.rows("k", "r6", take, burst=2) is None  # read again: a new wave, from reads alone
    # A resource read alone in this wave and read again (a refresh after a preview, after a
    # change by hand) is not served from a snapshot taken in the same wave: a new one is taken.
    assert snapshots.rows("k", "r7", take, burst=2) is None
    assert snapshots.rows("k", "r8", take, burst=2) == {"rows": 3}
    assert snapshots.rows("k", "r6", take) == {"rows": 4}


def test_live_a_preview_plans_from_one_snapshot_and_up_from_the_live_catalog(process, db):
    """Once a burst of checks is under way they are served from one snapshot of the kind (and
    of the journal): a policy dropped by hand after it was taken shows in the next wave, and
    `up` plans from the catalog as it is. A change the process makes is seen by the next check."""
    Resource(process, TableProvider(), TABLE)
    declared = {f"p{i}": dict(POLICY, name=f"p{i}") for i in range(BURST + 2)}
    policies = {name: Resource(process, PolicyProvider(), props) for name, props in declared.items()}

    def check(name: str, props: dict | None = None) -> list[str]:
        policy = policies[name]
        return process.check(policy.urn, policy.outputs, policy.inputs(props or declared[name]))["plan"]

    assert [check(f"p{i}") for i in range(BURST + 1)] == [[]] * (BURST + 1)  # the last from the snapshot
    last = f"p{BURST + 1}"
    db.execute(sql.SQL("DROP POLICY {} ON accounts").format(sql.Identifier(last)))
    assert check(last) == []  # as the snapshot has it, taken before the drop
    assert check(last)[0].startswith(f"create policy {last}")  # checked again: a new wave sees it
    assert policies[last].apply(dict(declared[last], using="true"))["changes"] is True  # up: created again
    assert check(last, dict(declared[last], using="true")) == []  # the change is seen
    assert db.execute("SELECT qual FROM pg_policies WHERE policyname = %s", (last,)).fetchone() == ("true",)
