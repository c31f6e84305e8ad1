"""The plan as text: one block per object that would change, each statement with its hazards.

    ~ table growth.seo_audits (sql/growth/010_seo_audits.sql:3)
        add column seo_audits.score
          ALTER TABLE "growth"."seo_audits" ADD COLUMN "score" integer
    - index public.idx_old (sql/tracking/005_tracking_events.sql:20): no longer declared
        drop index idx_old
          DROP INDEX IF EXISTS "public"."idx_old"
    ! enum app.mood (sql/app/001_types.sql:1): up refuses it
        enum app.mood (...): the file does not declare 'sad', which the type has. ...
"""

import textwrap

from .objects import ObjectPlan

INDENT = "    "
WIDTH = 100


def changes(plans: list[ObjectPlan]) -> list[ObjectPlan]:
    """The objects `up` would do something to (or would refuse to)."""
    return [p for p in plans if p.steps or p.refusal]


def _block(plan: ObjectPlan) -> list[str]:
    mark = "!" if plan.refusal else ("~" if plan.declared else "-")
    head = f"{mark} {plan.kind} {plan.name} ({plan.source})"
    if not plan.declared:
        head += ": no longer declared"
    if plan.refusal:
        head += ": up refuses it"
    lines = [head]
    for step in plan.steps:
        lines.append(f"{INDENT}{step.description}")
        lines += [f"{INDENT}  {line}" for line in step.statement.as_string(None).splitlines()]
        if step.hazards:
            lines.append(f"{INDENT}  hazards: {', '.join(str(h) for h in step.hazards)}")
        if not step.transactional:
            lines.append(f"{INDENT}  (runs on its own, outside a transaction)")
    if plan.refusal:
        lines += textwrap.wrap(plan.refusal, WIDTH, initial_indent=INDENT, subsequent_indent=INDENT,
                               break_long_words=False, break_on_hyphens=False)
    return lines


def render(plans: list[ObjectPlan], title: str) -> str:
    changed = changes(plans)
    lines = [title, ""]
    for plan in changed:
        lines += _block(plan) + [""]
    refused = sum(1 for p in changed if p.refusal)
    deleted = sum(1 for p in changed if not p.declared and not p.refusal)
    unchanged = len(plans) - len(changed)
    if changed:
        lines.append(f"{len(changed)} object(s) would change ({len(changed) - refused - deleted} changed, "
                     f"{deleted} deleted, {refused} refused by up); {unchanged} unchanged.")
    else:
        lines.append(f"No changes: the database holds what the stack declares ({unchanged} objects).")
    lines.append("Roles, grants, schemas and extensions (pulumi_postgresql resources) are not part of this plan.")
    return "\n".join(lines) + "\n"
