"""Policy expressions combined the way PostgreSQL combines them, and shown the way people read them.

Both work on pglast's syntax tree, never on the text: `combine` builds the predicate a command
applies (permissive policies ORed, then every restrictive policy ANDed), `readable` drops what
only matters to the planner (the sub-select that makes a request value an InitPlan, casts and
NULLIFs of that value) so `shop_domain = (SELECT current_setting('app.current_shop', TRUE))`
reads `shop_domain = app.current_shop`.
"""

import copy

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType, SubLinkType
from pglast.stream import RawStream

TRUE = "TRUE"
JSON_OPERATORS = {"->", "->>", "#>", "#>>"}
SETTING_FUNCTIONS = {("current_setting",), ("pg_catalog", "current_setting")}
REQUEST_SCHEMA = "auth"  # auth.uid(), auth.jwt(), auth.role(): the request's JWT


def parse(text: str) -> ast.Node:
    select = parse_sql(f"SELECT {text}")[0].stmt
    if not isinstance(select, ast.SelectStmt) or not select.targetList or len(select.targetList) != 1:
        raise ValueError(f"not one SQL expression: {text}")
    return select.targetList[0].val


def render(node: ast.Node) -> str:
    return RawStream()(node)


def _is_true(node: ast.Node) -> bool:
    return isinstance(node, ast.A_Const) and isinstance(node.val, ast.Boolean) and bool(node.val.boolval)


def combine(permissive: list[str | None], restrictive: list[str | None]) -> str | None:
    """The predicate rows must meet, or None when no row can (no permissive expression:
    PostgreSQL then denies every row). A policy without the clause adds nothing, as in
    PostgreSQL. TRUE when every row qualifies."""
    either = [parse(text) for text in permissive if text]
    if not either:
        return None
    required = [node for node in (parse(text) for text in restrictive if text) if not _is_true(node)]
    if not any(_is_true(node) for node in either):
        required.insert(0, either[0] if len(either) == 1 else ast.BoolExpr(boolop=BoolExprType.OR_EXPR,
                                                                           args=tuple(either)))
    if not required:
        return TRUE
    return render(required[0] if len(required) == 1 else ast.BoolExpr(boolop=BoolExprType.AND_EXPR,
                                                                      args=tuple(required)))


def _bare_select(node: ast.Node | None) -> ast.ResTarget | None:
    """The one target of `SELECT <expression>` with no FROM, WHERE or anything else."""
    if not isinstance(node, ast.SelectStmt) or not node.targetList or len(node.targetList) != 1:
        return None
    extra = ("fromClause", "whereClause", "groupClause", "havingClause", "sortClause", "limitCount", "valuesLists")
    return None if any(getattr(node, attr, None) for attr in extra) else node.targetList[0]


def _string(node: object) -> str | None:
    """The text of a string constant."""
    return node.val.sval if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String) else None


def _sublink(node) -> tuple | None:
    """(SELECT <request value>): the value itself (the sub-select only makes it an InitPlan)."""
    target = _bare_select(node.subselect) if node.subLinkType == SubLinkType.EXPR_SUBLINK else None
    if target is None:
        return None
    target.val, request = _simplify(target.val)
    return (target.val, True) if request else (node, False)


def _function(node) -> tuple | None:
    """current_setting('app.current_shop', ...) reads `app.current_shop`; auth.uid() stays."""
    name = tuple(n.sval for n in node.funcname or ())
    setting = _string(node.args[0]) if node.args else None
    if name in SETTING_FUNCTIONS and setting is not None:
        return ast.ColumnRef(fields=tuple(ast.String(sval=part) for part in setting.split("."))), True
    return (node, True) if len(name) == 2 and name[0] == REQUEST_SCHEMA else None


def _cast(node) -> tuple | None:
    node.arg, request = _simplify(node.arg)
    return (node.arg, True) if request else (node, False)


def _operator(node) -> tuple | None:
    """NULLIF(<request value>, '') is the value; a JSON path into one is a request value too."""
    if node.kind == A_Expr_Kind.AEXPR_NULLIF:
        value, request = _simplify(node.lexpr)
        return (value, True) if request and _string(node.rexpr) == "" else None
    if node.kind == A_Expr_Kind.AEXPR_OP and node.name and node.name[-1].sval in JSON_OPERATORS:
        node.lexpr, request = _simplify(node.lexpr)
        node.rexpr, _ = _simplify(node.rexpr)
        return node, request
    return None


FORMS = {ast.SubLink: _sublink, ast.FuncCall: _function, ast.TypeCast: _cast, ast.A_Expr: _operator}


def _simplify(node):
    """(node rewritten, whether it is a value of the request: a setting or the JWT)."""
    form = FORMS.get(type(node))
    done = form(node) if form else None
    if done is not None:
        return done
    for attr in node:  # a Node iterates over its field names
        value = getattr(node, attr, None)
        if isinstance(value, ast.Node):
            setattr(node, attr, _simplify(value)[0])
        elif isinstance(value, tuple) and any(isinstance(v, ast.Node) for v in value):
            setattr(node, attr, tuple(_simplify(v)[0] if isinstance(v, ast.Node) else v for v in value))
    return node, False


def readable(text: str) -> str:
    """The predicate as a reviewer reads it (not for execution: the planner's wrapping is gone)."""
    return render(_simplify(copy.deepcopy(parse(text)))[0])
