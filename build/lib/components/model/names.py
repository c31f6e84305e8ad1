"""Names PostgreSQL would choose for unnamed constraints.

The tool always writes constraint names into its DDL, so that each constraint can be found,
compared and altered by name later. Using PostgreSQL's own convention (visitors_pkey,
visitors_visitor_id_key, conversions_conversion_type_check ...) keeps them familiar.
"""

MAX_IDENTIFIER = 63  # NAMEDATALEN - 1


def _make_name(name1: str, name2: str, label: str) -> str:
    # Mirrors makeObjectName(): shorten the longer of the two parts until the name fits.
    available = MAX_IDENTIFIER - len(label) - 1 - (1 if name2 else 0)
    len1, len2 = len(name1), len(name2)
    while len1 + len2 > available:
        if len1 > len2:
            len1 -= 1
        else:
            len2 -= 1
    return "_".join(part for part in (name1[:len1], name2[:len2], label) if part)


def constraint_name(table: str, columns: list[str], label: str, taken: list[str]) -> str:
    """`label` is pkey, key, check or fkey; `taken` are the table's names already in use."""
    name2 = "" if label == "pkey" else "_".join(columns)
    candidate = _make_name(table, name2, label)
    suffix = 0
    while candidate in taken:
        suffix += 1
        candidate = _make_name(table, name2, f"{label}{suffix}")
    return candidate
