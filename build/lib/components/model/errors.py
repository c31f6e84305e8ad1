"""Errors the SQL model raises: every one names the file and line it is about."""

from pathlib import Path

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


def read_source(path: Path, display_name: str) -> str:
    """A module file's text. A file that is not UTF-8 is an error naming it and the line of its
    first byte that is not, rather than a UnicodeDecodeError from somewhere inside the run."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SqlModelError(display_name, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); "
                                                "save the file as UTF-8") from None
