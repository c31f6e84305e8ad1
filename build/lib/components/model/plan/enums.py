"""Enum type plans: CREATE TYPE ... AS ENUM, ADD VALUE at its place, DROP TYPE.

PostgreSQL can add values to an enum (in a transaction since version 12, but a value added
there is usable only once it commits: what uses it must be changed by another resource, after
this one) and rename them, never remove or reorder them: values in use would lose their
meaning or their sort order. So a plan that removes or reorders values is refused on every
stack, naming the file and line.
"""

from .. import render
from .step import PlanRefused, Step


def create_enum(enum: dict) -> list[Step]:
    return [Step(f"create enum type {enum['schema']}.{enum['name']}", render.create_enum(enum))]


def drop_enum(enum: dict) -> list[Step]:
    # Without CASCADE: PostgreSQL refuses while a column or function still uses the type.
    return [Step(f"drop enum type {enum['schema']}.{enum['name']}", render.drop_type(enum))]


def alter_enum(old: dict, new: dict) -> list[Step]:
    """ALTER TYPE ... ADD VALUE for each new value, right after the value before it in the
    file (which exists by then), or before the first existing one."""
    before, after = list(old.get("values", [])), list(new.get("values", []))
    name = f"{new['schema']}.{new['name']}"
    removed = [v for v in before if v not in after]
    kept = [v for v in after if v in before]
    if removed or kept != before:
        problem = (f"the file does not declare {', '.join(map(repr, removed))}, which the type has" if removed
                   else f"the file orders the values {', '.join(map(repr, kept))}, the type has them as "
                        f"{', '.join(map(repr, before))}")
        raise PlanRefused(
            f"enum {name} ({new.get('source', 'unknown source')}): {problem}. PostgreSQL can only add values "
            f"to an enum (and rename them), and rows may hold them. Keep the existing values in their order "
            f"(new ones may go anywhere). To rename a value, run ALTER TYPE {name} RENAME VALUE yourself and "
            f"`pulumi refresh`, then edit the file. To remove or reorder values, declare a new type (another "
            f"name), move the columns to it, then remove this one.")
    steps = []
    for i, value in enumerate(after):
        if value in before:
            continue
        if i > 0:  # right after the value before it, which exists by now
            statement = render.add_enum_value(new, value, "after", after[i - 1])
        elif before:
            statement = render.add_enum_value(new, value, "before", before[0])
        else:
            statement = render.add_enum_value(new, value)
        steps.append(Step(f"add value {value!r} to enum type {name}", statement))
    return steps
