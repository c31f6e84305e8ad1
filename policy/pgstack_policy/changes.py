"""The rule on what a change does to a production database.

The provider's check plans each change from the live database and puts the steps, with their
hazards, in the resource's `plan` input (see README, "Changing a production database"); the
SQL file may approve a hazard for its object (`-- pgstack: approve <hazard>: <reason>`, the
`approved` input). In a production stack, a step with a hazard nobody approved is a finding.
The provider refuses it too (check fails, unless the stack's safety settings accept the hazard
for the whole stack); the rule says the same in the policy report, beside the other rules.
"""

from collections.abc import Iterator

from .rule import Finding
from .stack import Resource, known

# Stacks whose changes need every hazard approved: by name, as the URN carries it.
PRODUCTION_STACKS = ("prod", "production")
MARK = "[hazard "


def stack_of(urn: str) -> str:
    """urn:pulumi:<stack>::<project>::..."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def hazards_of(step: str) -> list[str]:
    """The hazards of one step as the preview shows it: `... [hazard data_loss: deletes ...]`."""
    return [part.split(":", 1)[0] for part in step.split(MARK)[1:]]


def unapproved_hazard(subject: Resource) -> Iterator[Finding]:
    if not stack_of(subject.urn).startswith(PRODUCTION_STACKS):
        return
    plan, approved = subject.get("plan"), subject.get("approved")
    if not known(plan) or not isinstance(plan, list):
        return  # planned once the objects it depends on exist; checked again then
    approved = approved if isinstance(approved, dict) else {}
    for step in plan:
        for hazard in hazards_of(str(step)):
            if hazard not in approved:
                yield Finding(subject, f"the change would {str(step).split(':', 1)[0]}, which carries the hazard "
                                       f"{hazard} in a production stack, and no one approved it.",
                              f"make the change another way (see the step's explanation), or approve it above the "
                              f"object's statement: `-- pgstack: approve {hazard}: <why it is safe>`.")
