"""Each object's plan: the statements the provider would run to bring the live database to what
the program declares, with their hazards, or why `up` would refuse.

What is declared comes from running the real program under Pulumi's mocks (review/record.py):
every dynamic resource with its inputs. Each goes to its own provider class, configured with the
stack's connection and safety settings as the engine would configure it, whose `preview_steps`
reads the live object and the provider's journal and plans from them without changing anything.
Objects the journal knows and the program no longer declares are planned as deletions. Roles,
grants, schemas and extensions are pulumi_postgresql resources: not planned here.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from .. import PgstackError
from ..model.plan import Step
from ..provider import (
    EnumProvider,
    FunctionProvider,
    IndexProvider,
    PartitionProvider,
    PolicyProvider,
    SampleDataProvider,
    TableProvider,
    TriggerProvider,
    ViewProvider,
    journal,
)
from ..provider.base import CatalogObjectProvider, database_for
from ..provider.errors import HazardRefused
from ..review.record import record, stack_config
from ..settings import NAMESPACE, provider_settings

DYNAMIC_PREFIX = "pulumi-python:dynamic/pgstack:"
# The provider class of each dynamic resource type (stack/resources.py), by the type's last part.
PROVIDERS: dict[str, type[CatalogObjectProvider]] = {
    "Enum": EnumProvider, "Table": TableProvider, "Partition": PartitionProvider, "Index": IndexProvider,
    "Policy": PolicyProvider, "Function": FunctionProvider, "Trigger": TriggerProvider, "View": ViewProvider,
    "SampleData": SampleDataProvider,
}


@dataclass(frozen=True)
class ObjectPlan:
    kind: str  # the provider's kind: table, index, enum ...
    name: str  # growth.seo_audits, crm.clients.clients_isolation, ...
    source: str  # file:line (or config key) of its declaration
    declared: bool  # False: the program no longer declares it, so `up` deletes it
    steps: list[Step]
    refusal: str | None = None  # why `up` would refuse the change, in the provider's words


def configured(cls: type[CatalogObjectProvider], config: dict[str, str]) -> CatalogObjectProvider:
    """A provider configured the way the engine configures it: from the stack's config."""
    provider = cls()
    provider.configure(SimpleNamespace(config=config))
    return provider


def object_plan(provider: CatalogObjectProvider, props: dict, declared: bool = True) -> ObjectPlan:
    name, source = provider.object_id(props), props.get("source", "unknown source")
    try:
        steps = provider.preview_steps(props, declared)
    except PgstackError as refused:  # the change has no safe plan (PlanRefused, AlreadyExists)
        return ObjectPlan(provider.kind, name, source, declared, [], str(refused))
    try:  # the provider's own rule, as `up` applies it: hazards neither the stack nor the file approves
        provider._refuse(props, steps, props.get("approved"))
    except HazardRefused as refused:
        return ObjectPlan(provider.kind, name, source, declared, steps, str(refused))
    return ObjectPlan(provider.kind, name, source, declared, steps)


def _reading_order(plan: ObjectPlan) -> tuple[str, int, str]:
    """By file and line (the program declares resources in no fixed order), so a table's
    indexes and policies follow it as in its file."""
    file, _, line = plan.source.rpartition(":")
    return (file, int(line), plan.name) if line.isdigit() else (plan.source, 0, plan.name)


def _provider_of(resource: str, providers: list[CatalogObjectProvider]) -> CatalogObjectProvider | None:
    """The provider of a journal row (`<kind> <object id>`): the longest kind that fits."""
    found = [p for p in providers if resource.startswith(f"{p.kind} ")]
    return max(found, key=lambda p: len(p.kind), default=None)


def engine_config(project: Path, stack: str, overrides: dict[str, str]) -> dict[str, str]:
    """The stack's config as the engine hands it to the program and the provider: its stack
    file's, with `overrides` (`pgstack:` keys, the real `pgstack:db_password` among them) over it."""
    return {**stack_config(project, stack, validate=True), **overrides}


def plan_stack(project: Path, stack: str, overrides: dict[str, str], today: date | None = None) -> list[ObjectPlan]:
    """Every object of the stack with what `up` would do to it, in the order of their files and
    lines, then the deletions. `overrides` go over the stack file's config (engine_config); the
    program gets them all but the password."""
    config = engine_config(project, stack, overrides)
    settings = provider_settings(lambda key: config.get(f"{NAMESPACE}:{key}"))  # errors name the key
    providers = {name: configured(cls, config) for name, cls in PROVIDERS.items()}
    program_config = {k: v for k, v in overrides.items() if k != f"{NAMESPACE}:db_password"}
    plans, declared, deletions = [], set(), []
    database = database_for(settings)
    try:
        for resource in record(project, stack, program_config, today, validate=True):
            if resource.type.startswith(DYNAMIC_PREFIX):
                provider = providers[resource.type.removeprefix(DYNAMIC_PREFIX)]
                declared.add(provider.journal_key(resource.inputs))
                plans.append(object_plan(provider, resource.inputs))
        with database.session(changes=False) as conn, conn.transaction(force_rollback=True), conn.cursor() as cur:
            known = journal.entries(cur)
        for key, props in known.items():
            owner = _provider_of(key, list(providers.values()))
            if key not in declared and owner is not None:
                deletions.append(object_plan(owner, props, declared=False))
    finally:
        database.close()  # the providers' connection: a caller that goes on (a test) holds none open
    return sorted(plans, key=_reading_order) + sorted(deletions, key=_reading_order)
