"""Existing stacks keep working: every resource's state holds the provider pickled by reference
(`components.provider.kinds.TableProvider`, ...), so moving or renaming a provider class would
break refresh, up and destroy for every stack deployed before the move.

tests/fixtures/release_b06d44e_state.json was written once by the release before the layer
folders, running its own provider against a live database: the state entries it left and the
DDL it ran. Here the current code reads that state back through the engine's own path."""

import base64
import json
from pathlib import Path

import dill
import psycopg
import pytest

from components.provider.base import definition
from tests.support.engine import connection_config
from tests.support.provider_process import ProviderProcess, pickled

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "release_b06d44e_state.json").read_text())


def test_every_provider_class_pickled_by_that_release_still_loads():
    import components.provider as current
    for name, blob in FIXTURE["pickled_providers"].items():
        provider = dill.loads(base64.b64decode(blob))
        assert type(provider) is getattr(current, name), name
        assert pickled(type(provider)()) == blob, f"{name} now pickles differently: existing state would diff"


@pytest.fixture
def release_database(database):
    """A database holding what that release created, as it created it."""
    with psycopg.connect(**database, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA compat")
        for resource in FIXTURE["resources"]:
            for statement in resource["statements"]:
                conn.execute(statement)
    return database


def test_state_of_that_release_reads_diffs_and_deletes_with_the_current_provider(release_database):
    # A stack that accepts every hazard (as dev does), so the destroy at the end may drop it all.
    provider = ProviderProcess({**connection_config(release_database), "pgstack:safety": '{"allow_hazards": ["all"]}'})
    try:
        for resource in FIXTURE["resources"]:
            old = resource["outputs"]
            id_, outputs = provider.read(resource["urn"], resource["id"], old)
            assert id_ == resource["id"], resource["urn"]
            assert definition(outputs) == definition(old), f"{resource['urn']} reads as drifted"
            # The program now declares the same object with the current pickle: no change.
            news = dict(definition(old), __provider=old["__provider"])
            assert provider.diff(resource["urn"], id_, old, news)["changes"] is False, resource["urn"]
        for resource in reversed(FIXTURE["resources"]):  # destroy, dependants first
            provider.delete(resource["urn"], resource["id"], resource["outputs"])
            assert provider.read(resource["urn"], resource["id"], resource["outputs"])[0] == ""
    finally:
        provider.close()
    with psycopg.connect(**release_database) as conn:
        assert conn.execute("SELECT to_regclass('compat.items')").fetchone() == (None,)
