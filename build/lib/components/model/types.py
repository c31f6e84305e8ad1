"""Column types, spelled the way PostgreSQL's format_type() spells them.

Declared types are normalized to the catalog's spelling so that a column read back from the
database compares equal to the one in the SQL file (`timestamptz` and `timestamp with time zone`
are one type), and so that type changes can be classified as widening or narrowing.
"""

from pglast import ast, keywords

from .nodes import strings

# Internal and alias names -> format_type() names.
_CANONICAL = {
    "int2": "smallint",
    "int4": "integer",
    "int": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
    "decimal": "numeric",
    "varbit": "bit varying",
}

# interval's typmod holds the fields it keeps (a bit mask; datatype/timestamp.h) and,
# optionally, the seconds' precision: interval(3), interval day to second(2).
_INTERVAL_FULL_RANGE = 0x7FFF
_INTERVAL_FIELDS = {
    1 << 2: "year", 1 << 1: "month", 1 << 3: "day", 1 << 10: "hour", 1 << 11: "minute", 1 << 12: "second",
    (1 << 2) | (1 << 1): "year to month",
    (1 << 3) | (1 << 10): "day to hour",
    (1 << 3) | (1 << 10) | (1 << 11): "day to minute",
    (1 << 3) | (1 << 10) | (1 << 11) | (1 << 12): "day to second",
    (1 << 10) | (1 << 11): "hour to minute",
    (1 << 10) | (1 << 11) | (1 << 12): "hour to second",
    (1 << 11) | (1 << 12): "minute to second",
}

# Pseudo-types that create hidden sequences; identity columns say the same thing explicitly.
SERIAL_TYPES = {"serial", "serial2", "serial4", "serial8", "bigserial", "smallserial"}


def _typmod_values(type_name: ast.TypeName) -> list[str]:
    values = []
    for mod in type_name.typmods or ():
        if isinstance(mod, ast.A_Const) and isinstance(mod.val, ast.Integer):
            values.append(str(mod.val.ival))
        else:
            raise ValueError("only integer type modifiers are supported")
    return values


def canonical_type(type_name: ast.TypeName) -> str:
    """The format_type() spelling of a parsed TypeName."""
    names = strings(type_name.names)
    if len(names) == 2 and names[0] == "pg_catalog":
        names = names[1:]
    if type_name.pct_type or type_name.setof:
        raise ValueError("%TYPE and SETOF are not supported in column types")
    base = names[-1]
    if len(names) == 1 and base in SERIAL_TYPES:
        raise ValueError(
            f"type {base} is not supported: use an identity column "
            f"(e.g. bigint GENERATED ALWAYS AS IDENTITY) or a uuid default"
        )
    mods = _typmod_values(type_name)
    if base == "interval" and mods:
        base = _interval(mods)
        mods = []
    elif names == ["char"]:
        base = '"char"'  # the one-byte internal type, not character(1)
    elif base == "bpchar" and mods:
        base = "character"  # char, character, char(n), nchar(n): blank-padded with a length
    elif len(names) == 1 and base in _CANONICAL:
        base = _CANONICAL[base]
    elif len(names) > 1:
        base = ".".join(names)
    base = _with_modifiers(base, mods)
    if type_name.arrayBounds:
        base += "[]"  # PostgreSQL keeps no array dimensions: integer[][] is integer[]
    return base


def _with_modifiers(base: str, mods: list[str]) -> str:
    if base == "numeric" and len(mods) == 1:
        mods = [*mods, "0"]  # format_type() always spells the scale: numeric(5) is numeric(5,0)
    if not mods:
        return base
    if base.startswith(("timestamp ", "time ")):
        head, _, zone = base.partition(" ")
        return f"{head}({mods[0]}) {zone}"
    return f"{base}({','.join(mods)})"


def _interval(mods: list[str]) -> str:
    fields, precision = int(mods[0]), mods[1] if len(mods) > 1 else None
    text = "interval"
    if fields != _INTERVAL_FULL_RANGE:
        if fields not in _INTERVAL_FIELDS:
            raise ValueError(f"interval fields (typmod {fields}) are not supported")
        text += f" {_INTERVAL_FIELDS[fields]}"
    return f"{text}({precision})" if precision is not None else text


def _split(type_text: str) -> tuple[str, list[int]]:
    base, _, rest = type_text.partition("(")
    mods = [int(m) for m in rest.split(")")[0].split(",")] if rest else []
    return base.strip(), mods


_INTEGER_WIDTH = {"smallint": 2, "integer": 4, "bigint": 8}
_TEXTUAL = {"text", "character varying"}


def is_widening(old: str, new: str) -> bool:
    """True when every value of type `old` fits in type `new` unchanged.

    Anything not known to be widening counts as narrowing: a type change the tool cannot prove
    safe is treated as one that may lose data.
    """
    if old == new:
        return True
    if old.endswith("[]") or new.endswith("[]"):
        return False
    old_base, old_mods = _split(old)
    new_base, new_mods = _split(new)
    if old_base in _INTEGER_WIDTH and new_base in _INTEGER_WIDTH:
        return _INTEGER_WIDTH[new_base] >= _INTEGER_WIDTH[old_base]
    if old_base in _INTEGER_WIDTH and new_base == "numeric":
        return not new_mods
    if old_base in _TEXTUAL and new_base in _TEXTUAL:
        if new_base == "text" or not new_mods:
            return True
        return bool(old_mods) and old_base == "character varying" and new_mods[0] >= old_mods[0]
    if old_base == "numeric" and new_base == "numeric":
        if not new_mods:
            return True
        if not old_mods:
            return False
        old_scale = old_mods[1] if len(old_mods) > 1 else 0
        new_scale = new_mods[1] if len(new_mods) > 1 else 0
        return new_scale >= old_scale and new_mods[0] - new_scale >= old_mods[0] - old_scale
    if {old_base, new_base} <= {"real", "double precision"}:
        return new_base == "double precision"
    if old_base == "timestamp without time zone" and new_base == "timestamp with time zone":
        return False  # reinterpreted in the session time zone
    return False


def quoted_name(name: str) -> str:
    """A name as PostgreSQL's quote_identifier() writes it (in format_type(), for one): as is
    when it is lower case letters, digits and underscores, not starting with a digit, and not a
    keyword other than an unreserved one; double-quoted otherwise."""
    plain = bool(name) and (name[0].islower() or name[0] == "_") and all(
        c.isdigit() or c == "_" or ("a" <= c <= "z") for c in name)
    if plain and name not in keywords.UNRESERVED_KEYWORDS and any(
            name in words for words in (keywords.RESERVED_KEYWORDS, keywords.TYPE_FUNC_NAME_KEYWORDS,
                                        keywords.COL_NAME_KEYWORDS)):
        plain = False
    return name if plain else '"' + name.replace('"', '""') + '"'
