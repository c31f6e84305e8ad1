"""What the rules need to know about SQL text in the inputs, read with pglast (PostgreSQL's own
parser): policy expressions, index predicates, function and view definitions."""

from collections.abc import Iterator

from pglast import ast, parse_sql
from pglast.stream import RawStream

# Functions whose value is the same for every row of a query: a policy should read them once,
# in a sub-select, not once per row (splinter's auth_rls_initplan).
SETTING_FUNCTIONS = {("current_setting",), ("pg_catalog", "current_setting")}
REQUEST_SCHEMA = "auth"
TRUE_WORDS = ("true", "on", "yes", "1")


def expression(text: str) -> ast.Node:
    select = parse_sql(f"SELECT {text}")[0].stmt
    if not isinstance(select, ast.SelectStmt) or not select.targetList or len(select.targetList) != 1:
        raise ValueError(f"not one SQL expression: {text}")
    return select.targetList[0].val


def walk(node: object, skip_sublinks: bool = False) -> Iterator[ast.Node]:
    """Every node under `node` (inclusive); not into sub-selects when `skip_sublinks`."""
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from walk(item, skip_sublinks)
        return
    if not isinstance(node, ast.Node):
        return
    yield node
    if skip_sublinks and isinstance(node, ast.SubLink):
        return
    for attr in node:  # a Node iterates over its field names
        yield from walk(getattr(node, attr, None), skip_sublinks)


def _names(nodes: tuple | None) -> tuple[str, ...]:
    """The parts of a qualified name (String nodes); '' for anything else (`*`)."""
    return tuple((n.sval or "") if isinstance(n, ast.String) else "" for n in nodes or ())


def per_row_request_calls(text: str) -> list[str]:
    """auth.*() and current_setting() calls outside any sub-select: evaluated for every row."""
    calls = set()
    for node in walk(expression(text), skip_sublinks=True):
        if isinstance(node, ast.FuncCall):
            name = _names(node.funcname)
            if name in SETTING_FUNCTIONS or (len(name) == 2 and name[0] == REQUEST_SCHEMA):
                calls.add(f"{'.'.join(name)}()")
    return sorted(calls)


def _constant(node: object) -> bool:
    return not any(isinstance(n, (ast.ColumnRef, ast.FuncCall, ast.SubLink, ast.ParamRef)) for n in walk(node))


def _true(node: object) -> bool:
    if isinstance(node, ast.A_Const):
        return isinstance(node.val, ast.Boolean) and bool(node.val.boolval)
    if isinstance(node, ast.BoolExpr) and node.boolop is not None and node.boolop.name in ("OR_EXPR", "AND_EXPR"):
        results = [_true(arg) for arg in node.args or ()]
        return any(results) if node.boolop.name == "OR_EXPR" else all(results)
    if isinstance(node, ast.A_Expr) and _names(node.name) == ("=",) \
            and isinstance(node.lexpr, ast.Node) and isinstance(node.rexpr, ast.Node):
        return _constant(node.lexpr) and _constant(node.rexpr) and RawStream()(node.lexpr) == RawStream()(node.rexpr)
    return False


def always_true(text: str) -> bool:
    """TRUE, a comparison of a constant with itself (1 = 1), an OR with such a branch, or an AND
    of them only."""
    return _true(expression(text))


def references_user_metadata(text: str) -> bool:
    """Reads the JWT's user_metadata (auth.jwt() -> 'user_metadata') or auth.users'
    raw_user_meta_data: values the signed-in user can edit."""
    for node in walk(expression(text)):
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String) and node.val.sval == "user_metadata":
            return True
        if isinstance(node, ast.ColumnRef) and _names(node.fields)[-1:] == ("raw_user_meta_data",):
            return True
    return False


def columns(text: str, table: str) -> list[str]:
    """The table's columns the expression filters on (outside sub-selects), in order."""
    found: list[str] = []
    for node in walk(expression(text), skip_sublinks=True):
        names = _names(node.fields) if isinstance(node, ast.ColumnRef) else ()
        if names and all(names) and (len(names) == 1 or names[:-1] == (table,)) and names[-1] not in found:
            found.append(names[-1])
    return found


def not_null_column(text: str) -> str | None:
    """The column of a `<column> IS NOT NULL` predicate (a partial index that still serves
    lookups by that column), else None."""
    node = expression(text)
    if isinstance(node, ast.NullTest) and node.nulltesttype is not None and node.nulltesttype.name == "IS_NOT_NULL" \
            and isinstance(node.arg, ast.ColumnRef):
        return _names(node.arg.fields)[-1] or None
    return None


def _options(definition: str, kind: type) -> tuple:
    stmt = parse_sql(definition)[0].stmt
    return tuple(getattr(stmt, "options", None) or ()) if isinstance(stmt, kind) else ()


def function_options(definition: str) -> tuple[bool, bool]:
    """(SECURITY DEFINER, search_path fixed with SET) of a CREATE FUNCTION."""
    definer = fixed_path = False
    for option in _options(definition, ast.CreateFunctionStmt):
        if option.defname == "security":
            definer = _boolean(option.arg)
        elif option.defname == "set" and isinstance(option.arg, ast.VariableSetStmt) \
                and option.arg.name == "search_path" and option.arg.kind is not None \
                and option.arg.kind.name == "VAR_SET_VALUE":
            fixed_path = True
    return definer, fixed_path


def _boolean(value: object) -> bool:
    """A boolean option's value as PostgreSQL reads it (`on`, `off` parse as a type name)."""
    if value is None:
        return True
    if isinstance(value, ast.Boolean):
        return bool(value.boolval)
    if isinstance(value, ast.TypeName):
        value = value.names[-1] if value.names else None
    text = getattr(value, "sval", getattr(value, "ival", ""))
    return str(text).lower() in TRUE_WORDS


def security_invoker(definition: str) -> bool:
    """Whether a CREATE VIEW has WITH (security_invoker = true)."""
    for option in _options(definition, ast.ViewStmt):
        if option.defname == "security_invoker":
            return _boolean(option.arg)
    return False
