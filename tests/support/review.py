"""Test code: the declared resources of the shipped stacks (recorded once per session), a copy of
the project to edit, and the policy pack's rules run the way the engine runs them.

The engine hands a policy pack each resource's inputs wrapped in pulumi_policy's unknown-checking
proxy, with its property dependencies; `policy_resources` does the same with what the program
declared under mocks (components.review.record), so the rules see exactly the engine's shapes.
"""

import functools
import shutil
from pathlib import Path

from pgstack_policy import Rule
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from components.review.record import Declared, record

PROJECT_DIR = Path(__file__).resolve().parents[2]

OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "sql")


@functools.cache
def shipped(stack: str) -> tuple[Declared, ...]:
    """What the shipped program declares for `stack` (dev or prod)."""
    return tuple(record(PROJECT_DIR, stack))


def project_copy(folder: Path) -> Path:
    """The stack files and SQL of the project in `folder`, to edit; its program is this one."""
    for name in PROJECT_FILES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        else:
            shutil.copy2(source, folder / name)
    return folder


def policy_resources(declared) -> list[PolicyResource]:
    return [PolicyResource(d.type, unknown_checking_proxy(d.inputs), d.urn, d.name, OPTIONS, None, None, [],
                           dict(d.dependencies)) for d in declared]


def run_rule(rule: Rule, resources: list[PolicyResource]) -> list[str]:
    """The violations `rule` reports on the stack, through its policy's validate."""
    reported: list[str] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        reported.append(message)

    policy = rule.policy()
    if isinstance(policy, ResourceValidationPolicy):
        for r in resources:
            policy.validate(ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, OPTIONS, None),
                            report_violation)
    else:
        policy.validate(StackValidationArgs(resources), report_violation)
    return reported


DYNAMIC = "pulumi-python:dynamic/pgstack:"
OWNER = "pgstack_owner"


def declared_from_sql(text: str, schema: str = "app", file: str = "sql/m/001_test.sql",
                      roles: tuple[str, ...] = ()) -> list[Declared]:
    """The schema resources a module of this SQL declares, wired as SchemaModule wires them:
    each object's inputs, the owner on what the stack creates, and each policy's and index's
    `table` coming from its table resource (a property dependency)."""
    from components.model.declared import DeclaredTables
    from components.model.parser import ModuleParser

    parser = ModuleParser("m", schema, DeclaredTables(), set(roles))
    parser.parse_text(file, text)
    module = parser.module
    declared: list[Declared] = []

    def add(kind: str, name: str, inputs: dict, table: str | None = None) -> None:
        urn = f"urn:pulumi:test::pgstack::pgstack:index:SchemaModule${DYNAMIC}{kind}::m/{name}"
        dependencies = {"table": [f"urn:pulumi:test::pgstack::pgstack:index:SchemaModule${DYNAMIC}Table::m/"
                                  f"{schema}.{table}"]} if table else {}
        declared.append(Declared(f"{DYNAMIC}{kind}", f"m/{name}", urn, "", inputs, dependencies))

    for t in module.tables:
        add("Table", f"{t.schema}.{t.name}", dict(t.inputs(), owner=OWNER))
    for i in module.indexes:
        add("Index", f"{i.schema}.{i.name}", i.inputs(), i.table)
    for p in module.policies:
        add("Policy", f"{p.schema}.{p.table}.{p.name}", p.inputs(), p.table)
    for f in module.functions:
        add("Function", f"{f.schema}.{f.name}({f.arguments})", dict(f.inputs(), owner=OWNER))
    for v in module.views:
        add("View", f"{v.schema}.{v.name}", dict(v.inputs(), owner=OWNER))
    return declared
