"""Whose rights a view or a function runs with.

Everything the stack creates belongs to its owner role, whom row level security does not bind.
A view reads its tables with its owner's rights unless it is `security_invoker` (PostgreSQL
15+), and a SECURITY DEFINER function runs with its owner's rights: either would show a tenant
every tenant's rows. So:

- a view is created `WITH (security_invoker = true)` unless its file says
  `security_invoker = false`, which the statement must accept with a written reason
  (`-- pgstack: accept security_definer_view: <reason>`, model/annotations.py);
- a SECURITY DEFINER function is accepted the same way (`security_definer_function`), and must
  fix its search_path (`SET search_path = ...`) whatever the reason: otherwise any caller could
  put their own functions or operators first in the path and have them run with its rights.

Pure: it reads and completes the parsed statements.
"""

from pglast import ast

SECURITY_INVOKER = "security_invoker"
# How a boolean option is spelled (PostgreSQL also takes prefixes such as `t`; written out here).
WORDS = {"true": True, "on": True, "yes": True, "1": True, "false": False, "off": False, "no": False, "0": False}


def boolean(arg: object) -> bool | None:
    """The value of a boolean option (no value: true); None when it is not a boolean."""
    if arg is None:
        return True
    if isinstance(arg, ast.Boolean):
        return bool(arg.boolval)
    if isinstance(arg, ast.Integer):
        text = str(arg.ival or 0)
    elif isinstance(arg, ast.String):
        text = arg.sval or ""
    elif isinstance(arg, ast.TypeName) and arg.names and isinstance(arg.names[-1], ast.String):
        text = arg.names[-1].sval or ""  # `on` and `off` parse as a type name
    else:
        return None
    return WORDS.get(text.lower())


def security_invoker(view: ast.ViewStmt) -> bool | None:
    """Whether a CREATE VIEW says security_invoker true or false; None when it does not say.
    ValueError when its value is not a boolean."""
    for option in view.options or ():
        if option.defname == SECURITY_INVOKER:
            value = boolean(option.arg)
            if value is None:
                raise ValueError(f"{SECURITY_INVOKER} must be true or false")
            return value
    return None


def run_as_invoker(view: ast.ViewStmt) -> None:
    """Give a view that does not say otherwise `WITH (security_invoker = true)`."""
    if security_invoker(view) is None:
        view.options = (*(view.options or ()), ast.DefElem(defname=SECURITY_INVOKER, arg=ast.String(sval="true")))


def function_rights(function: ast.CreateFunctionStmt) -> tuple[bool, bool]:
    """(SECURITY DEFINER, search_path fixed with `SET search_path = ...`) of a CREATE FUNCTION."""
    definer = fixed_path = False
    for option in function.options or ():
        if option.defname == "security":
            definer = boolean(option.arg) is True
        elif option.defname == "set" and isinstance(option.arg, ast.VariableSetStmt) \
                and option.arg.name == "search_path" and option.arg.kind is not None \
                and option.arg.kind.name == "VAR_SET_VALUE":
            fixed_path = True
    return definer, fixed_path
