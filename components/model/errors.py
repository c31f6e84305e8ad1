"""Errors the SQL model raises: every one names the file and line it is about."""

from .. import PgstackError


class SqlModelError(PgstackError):
    """Bad input in a module's SQL files, found before anything touches a database."""

    def __init__(self, file: str, line: int, message: str):
        self.file = file
        self.line = line
        self.message = message
        super().__init__(f"{file}:{line}: {message}")


class SourceText:
    """One SQL file's text, able to turn a character offset into a line number."""

    def __init__(self, display_name: str, text: str):
        self.name = display_name
        self.text = text

    def line_of(self, offset: int | None) -> int:
        if offset is None or offset < 0:
            return 1
        return self.text.count("\n", 0, offset) + 1

    def error(self, offset: int | None, message: str) -> SqlModelError:
        return SqlModelError(self.name, self.line_of(offset), message)

    def where(self, offset: int | None) -> str:
        """The `file:line` form stored with each resource, so state says where it came from."""
        return f"{self.name}:{self.line_of(offset)}"
