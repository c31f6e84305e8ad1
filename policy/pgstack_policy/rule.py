"""A rule of the pack, its findings, and how it becomes a pulumi_policy Policy.

A rule checks one resource (its `kinds`) or the whole stack, and yields findings. Each finding
is about one object (a table, policy, index, function or view) and says where it comes from
(its SQL file and line, the `source` input) and how to fix it. An advisory finding is not
reported when the object's SQL file accepts it (`-- pgstack: accept <rule>: <reason>`, which
reaches the inputs as `accepted`); a mandatory one always is, except for an opt-in rule's
(`opt_in`: code that runs with its owner's rights), which the SQL file may accept with a reason
the same way, and which the project's parser refuses without one.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .stack import Resource, Stack, resource

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
# Where an acceptance goes, by the kind of object a finding is about.
STATEMENTS = {"Table": "CREATE TABLE", "Policy": "CREATE POLICY", "Index": "CREATE INDEX",
              "Function": "CREATE FUNCTION", "View": "CREATE VIEW"}


@dataclass(frozen=True)
class Finding:
    about: Resource
    problem: str
    fix: str
    urn: str | None = None  # the resource to report it on, when not `about` (a grant)


@dataclass(frozen=True)
class Rule:
    name: str
    level: EnforcementLevel
    description: str
    check: Callable[..., Iterable[Finding]]  # (Resource) for a resource rule, (Stack) for a stack rule
    kinds: tuple[str, ...] = ()  # the resource kinds a resource rule reads; () for a stack rule
    opt_in: bool = False  # a mandatory rule an object may accept with a written reason

    @property
    def acceptable(self) -> bool:
        return self.level == ADVISORY or self.opt_in

    def message(self, finding: Finding) -> str:
        text = f"{finding.about.label()} ({finding.about.source}): {finding.problem} Fix: {finding.fix}"
        if self.acceptable:
            text += (f" Or, if it is right here, accept it above the {STATEMENTS[finding.about.kind or 'Table']} "
                     f"statement: `-- pgstack: accept {self.name}: <reason>`.")
        return text

    def reported(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if not self.acceptable or self.name not in f.about.accepted]

    def policy(self) -> Policy:
        if self.kinds:
            return ResourceValidationPolicy(self.name, self.description, self._validate_resource,
                                            enforcement_level=self.level)
        return StackValidationPolicy(self.name, self.description, self._validate_stack, enforcement_level=self.level)

    def _validate_resource(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        subject = resource(args.resource_type, args.props, args.urn, args.name)
        if subject.kind in self.kinds:
            for finding in self.reported(self.check(subject)):
                report_violation(self.message(finding), None)

    def _validate_stack(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        stack = Stack(resource(r.resource_type, r.props, r.urn, r.name, r.property_dependencies)
                      for r in args.resources)
        for finding in self.reported(self.check(stack)):
            report_violation(self.message(finding), finding.urn or finding.about.urn)
