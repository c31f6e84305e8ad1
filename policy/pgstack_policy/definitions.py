"""Rules on functions and views: whose rights they run with, and how they resolve names."""

from collections.abc import Iterator

from .expressions import function_options, security_invoker
from .rule import Finding
from .stack import Resource

SEARCH_PATH_FIX = ("add `SET search_path = ''` to the CREATE FUNCTION and schema-qualify what it uses "
                   "(or `SET search_path = pg_catalog, <schema>`).")


def _options(function: Resource) -> tuple[bool, bool] | None:
    definition = function.get("definition")
    return function_options(definition) if isinstance(definition, str) else None


def function_search_path_mutable(function: Resource) -> Iterator[Finding]:
    options = _options(function)
    if options == (False, False):  # SECURITY DEFINER ones: security_definer_function_search_path
        yield Finding(function, "does not fix its search_path, so it resolves names through the caller's: a caller "
                                "can put their own functions or operators in front of the ones it means.",
                      SEARCH_PATH_FIX)


def security_definer_function_search_path(function: Resource) -> Iterator[Finding]:
    if _options(function) == (True, False):
        yield Finding(function, "is SECURITY DEFINER (runs with its owner's rights) and does not fix its "
                                "search_path: any caller can make it run their own code with those rights.",
                      SEARCH_PATH_FIX)


def security_definer_function(function: Resource) -> Iterator[Finding]:
    options = _options(function)
    if options is not None and options[0]:
        yield Finding(function, "is SECURITY DEFINER: it runs with its owner's rights, which row level security "
                                "does not bind, whoever calls it.",
                      "make it SECURITY INVOKER (the default), so the caller's grants and policies apply.")


def security_definer_view(view: Resource) -> Iterator[Finding]:
    definition = view.get("definition")
    if isinstance(definition, str) and not security_invoker(definition):
        yield Finding(view, "runs with its owner's rights: it reads its tables as the owner, whom row level "
                            "security does not bind, so every caller sees every row.",
                      "leave `security_invoker = false` out (views are created `WITH (security_invoker = true)`), "
                      "so the caller's grants and policies apply.")
