"""The dev and prod programs under Pulumi's mock monitor: which resources they declare, with
which parents and dependencies. No database is touched."""

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks, rpc, settings as runtime_settings

from components.program import build
from components.settings import ConfigError
from tests.support.engine import stack_file_config

TRACKING_TABLES = {"visitors", "conversions", "conversion_queue", "tracking_events", "leads"}
TRACKING_INDEXES = {"idx_visitors_gclid", "idx_leads_visitor_id", "idx_conversions_lead_id",
                    "idx_conversions_type_converted_at", "idx_queue_status_next_retry",
                    "idx_tracking_events_visitor_occurred", "idx_tracking_events_name_occurred"}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping each registration's parent and dependencies."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.registrations = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append({
                "type": request.type, "name": request.name, "urn": response.urn, "parent": request.parent,
                "dependencies": set(request.dependencies),
                "inputs": {k: rpc.unwrap_rpc_secret(v) for k, v in rpc.deserialize_properties(request.object).items()},
            })
        return response


class EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", args.inputs

    def call(self, args):
        return {}


def run_program(stack: str, config: dict | None = None) -> RecordingMonitor:
    monitor = RecordingMonitor(EchoMocks())
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(EchoMocks(), project="pgstack", stack=stack, preview=False, monitor=monitor)
    values = {**stack_file_config(stack), "pgstack:db_password": "s3cret-from-config", **(config or {})}
    pulumi.runtime.set_all_config(values, secret_keys=["pgstack:db_password"])

    @pulumi.runtime.test
    def program():
        build()

    program()
    return monitor


def of_type(monitor, suffix):
    return [r for r in monitor.registrations if r["type"].endswith(suffix)]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_tracking_declared_once_under_its_module(stack):
    monitor = run_program(stack)
    module = next(r for r in monitor.registrations if r["type"] == "pgstack:index:SchemaModule" and r["name"] == "tracking")
    tables = [r for r in of_type(monitor, ":Table") if r["name"].startswith("tracking/")]
    indexes = [r for r in of_type(monitor, ":Index") if r["name"].startswith("tracking/")]

    assert sorted(r["inputs"]["name"] for r in tables) == sorted(TRACKING_TABLES)
    assert sorted(r["inputs"]["name"] for r in indexes) == sorted(TRACKING_INDEXES)
    for resource in tables + indexes:
        assert resource["parent"] == module["urn"]
    for table in tables:
        if table["inputs"]["name"] == "leads":
            assert table["inputs"]["managed"] == "columns"
            assert "rls_enabled" not in table["inputs"]  # the module does not own leads' RLS
        else:
            assert table["inputs"]["managed"] == "table"
            assert table["inputs"]["rls_enabled"] is True
    assert of_type(monitor, ":Policy") == []  # deny-all: no policy lets anon (or anyone) in


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_data_dependencies(stack):
    monitor = run_program(stack)
    urn = {r["name"]: r["urn"] for r in monitor.registrations}
    for index in of_type(monitor, ":Index"):
        table = f"tracking/public.{index['inputs']['table']}"
        assert urn[table] in index["dependencies"], index["name"]
    conversions = next(r for r in monitor.registrations if r["name"] == "tracking/public.conversions")
    queue = next(r for r in monitor.registrations if r["name"] == "tracking/public.conversion_queue")
    events = next(r for r in monitor.registrations if r["name"] == "tracking/public.tracking_events")
    assert urn["tracking/public.conversions"] in queue["dependencies"]
    assert urn["tracking/public.visitors"] in events["dependencies"]
    leads_extension = next(r for r in monitor.registrations if r["name"] == "tracking/public.leads")
    assert urn["tracking/public.visitors"] in leads_extension["dependencies"]
    if stack == "dev":  # the dev stand-in for leads is created first, then extended and referenced
        assert urn["site/public.leads"] in leads_extension["dependencies"]
        assert urn["tracking/public.leads"] in conversions["dependencies"]
    else:  # prod: leads exists outside the stack
        assert not any(r["name"].startswith("site/") for r in monitor.registrations)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_password_in_plain_inputs(stack):
    monitor = run_program(stack)
    for resource in monitor.registrations:
        for key, value in resource["inputs"].items():
            if key == "password":
                continue  # the postgresql provider's password input: a secret, checked below
            assert "s3cret-from-config" not in str(value), (resource["name"], key)
    provider = next(r for r in monitor.registrations if r["type"] == "pulumi:providers:postgresql")
    assert provider["inputs"]["sslmode"] == ("disable" if stack == "dev" else "require")


def test_bad_config_names_the_key():
    with pytest.raises(ConfigError, match=r"pgstack:modules\[0\]\.schema"):
        run_program("dev", {"pgstack:modules": '[{"name": "tracking", "schema": "Bad Name"}]'})
    with pytest.raises(ConfigError, match=r"pgstack:safety\.allow_data_los"):
        run_program("dev", {"pgstack:safety": '{"allow_data_los": true}'})
