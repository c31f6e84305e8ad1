"""The access matrix as people read it: a table per relation for a terminal, and the difference
between two matrices as Markdown for a pull request comment."""

from dataclasses import dataclass

from .access import COMMANDS, AccessMatrix, Cell
from .predicates import TRUE, readable

RANK = {"none": 1, "rows": 2, "tables": 2, "all": 3}
LEGEND = """\
  denied    no privilege: the command fails
  all rows  every row (TRUNCATE, BYPASSRLS, the owner, or no row level security)
  no rows   allowed, but row level security lets no row through
  P1 ...    the rows where the predicate listed under the table holds; for INSERT the new rows it
            accepts; UPDATE `P1 -> P2` changes rows where P1, and the new values must meet P2"""


def describe(cell: Cell, exact: bool = False) -> str:
    """`rows where shop_domain = app.current_shop`, `all rows`, ...; `exact` keeps the SQL."""
    def text(sql: str) -> str:
        return sql if exact else readable(sql)

    if cell.access == "all":
        return "all rows"
    if cell.access == "none":
        return "no rows"
    if cell.access == "tables":
        return "the rows its tables' policies allow"
    if cell.access == "denied":
        return "denied"
    rows = "all rows" if cell.rows == TRUE else f"rows where {text(cell.rows or '')}"
    if cell.new_rows is None:
        return rows
    return f"{rows}, new values where {text(cell.new_rows)}" if cell.new_rows != TRUE else f"{rows}, any new values"


# --- the matrix, for a terminal ---------------------------------------------------------------

SHORT = {"all": "all rows", "none": "no rows", "denied": "denied", "tables": "its tables'"}


def _label(cell: Cell, predicates: dict[str, str]) -> str:
    """A cell in a few characters: its access, or P1 (-> P2) naming the predicates listed below."""
    if cell.access != "rows":
        return SHORT[cell.access]
    names = []
    for sql in (cell.rows, cell.new_rows):
        if sql == TRUE:
            names.append("all rows")
        elif sql is not None:
            names.append(predicates.setdefault(readable(sql), f"P{len(predicates) + 1}"))
    return " -> ".join(names)


def render_matrix(matrix: AccessMatrix) -> str:
    lines = [f"Access matrix of stack {matrix.stack}: what each role may do on each table and view.", LEGEND, ""]
    width = max(len(r) for r in matrix.roles) + 2
    for relation in matrix.relations:
        rls = "view" if relation.kind == "view" else \
            ("RLS forced" if relation.rls_forced else "RLS on" if relation.rls_enabled else "RLS off")
        predicates: dict[str, str] = {}
        rows = [[role] + [_label(matrix.cell(relation.qualified, role, c), predicates) for c in COMMANDS]
                for role in matrix.roles]
        column = max(10, *(len(cell) + 2 for row in rows for cell in row[1:]))
        lines.append(f"{relation.qualified}  ({rls})")
        lines.append("  " + "role".ljust(width) + "".join(c.ljust(column) for c in COMMANDS).rstrip())
        lines += ["  " + row[0].ljust(width) + "".join(c.ljust(column) for c in row[1:]).rstrip() for row in rows]
        lines += [f"  {name}: {shown}" for shown, name in predicates.items()]
        lines.append("")
    return "\n".join(lines)


# --- the difference of two matrices, for a pull request -----------------------------------------

@dataclass(frozen=True)
class Change:
    relation: str
    role: str
    commands: tuple[str, ...]
    text: str


def _sentence(role: str, commands: str, relation: str, old: Cell, new: Cell) -> str:
    exact = describe(old) == describe(new)  # the readable forms hide the difference: show the SQL
    before, after = describe(old, exact), describe(new, exact)
    if old.access == "denied":
        return f"{role} gains {commands} on {relation}, {after}"
    if new.access == "denied":
        return f"{role} loses {commands} on {relation} (had {before})"
    rank_old, rank_new = RANK[old.access], RANK[new.access]
    verb = "widens" if rank_new > rank_old else "narrows" if rank_new < rank_old else "changes"
    return f"{role}'s {commands} on {relation} {verb} from {before} to {after}"


def diff(base: AccessMatrix, head: AccessMatrix) -> list[Change]:
    """Every cell that differs, the commands of a role and relation that change alike together."""
    relations = sorted({r.qualified for r in base.relations} | {r.qualified for r in head.relations})
    roles = list(head.roles) + [r for r in base.roles if r not in head.roles]
    changes = []
    for relation in relations:
        for role in roles:
            groups: dict[tuple[Cell, Cell], list[str]] = {}
            for command in COMMANDS:
                old, new = base.cell(relation, role, command), head.cell(relation, role, command)
                if old != new:
                    groups.setdefault((old, new), []).append(command)
            for (old, new), commands in groups.items():
                changes.append(Change(relation, role, tuple(commands),
                                      _sentence(role, ", ".join(commands), relation, old, new)))
    return changes


def render_diff(stack: str, base_label: str, head_label: str, changes: list[Change]) -> str:
    lines = [f"### Access changes on stack `{stack}`", "", f"`{base_label}` → `{head_label}`", ""]
    if not changes:
        return "\n".join(lines + ["No role gains or loses access to any table or view."]) + "\n"
    return "\n".join(lines + [f"- {change.text}" for change in changes]) + "\n"
