"""The one error validation raises when PostgreSQL rejects the stack's SQL: the object's
file:line, what was being created, and PostgreSQL's own message, detail, hint and position,
shown as an excerpt of the statement with a caret under it."""

import psycopg

from ... import PgstackError

EXCERPT_WIDTH = 100  # characters of a long line shown around the error position


def excerpt(text: str, position: int | None, width: int = EXCERPT_WIDTH) -> list[str]:
    """The line of `text` holding `position` (1-based, in characters, as PostgreSQL counts it),
    cut to about `width` characters around it, and a caret under the position."""
    if not position or not 0 < position <= len(text) + 1:
        return []
    offset = position - 1
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line, column = text[start:len(text) if end < 0 else end], offset - start
    left = max(0, min(column - width // 2, len(line) - width))
    shown = line[left:left + width]
    prefix, suffix = ("..." if left else ""), ("..." if left + width < len(line) else "")
    return [prefix + shown + suffix, " " * (len(prefix) + column - left) + "^"]


def server_version(conn: psycopg.Connection) -> str:
    version = conn.info.server_version  # e.g. 180006
    return f"{version // 10000}.{version % 10000}"


class ValidationFailed(PgstackError):
    """PostgreSQL rejected a statement of the stack on the scratch database."""

    def __init__(self, source: str, description: str, statement: str, error: psycopg.Error, version: str,
                 position: int | None = None):
        """`position`: where in `statement` the error is, when PostgreSQL does not say."""
        diag = error.diag
        self.source = source
        self.sqlstate = error.sqlstate
        self.primary = (diag.message_primary or str(error)).strip()
        self.detail = diag.message_detail
        self.hint = diag.message_hint
        lines = [f"{source}: {description}: {self.primary}"]
        if self.detail:
            lines.append(f"  DETAIL: {self.detail}")
        if self.hint:
            lines.append(f"  HINT: {self.hint}")
        if diag.internal_query:  # inside a function body: the body is the statement that failed
            at = excerpt(diag.internal_query, _int(diag.internal_position))
        else:
            at = excerpt(statement, _int(diag.statement_position) or position)
        lines += [f"  {line}" for line in at]
        if diag.context:
            lines.append(f"  CONTEXT: {diag.context.strip().splitlines()[0]}")
        lines.append(f"  Checked on a scratch database (PostgreSQL {version}, SQLSTATE {self.sqlstate}) before any "
                     f"resource was declared: nothing reached the target database.")
        super().__init__("\n".join(lines))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
