"""Annotations in SQL comments: a reviewer's written acceptance of an advisory finding or of
an opt-in rule (a view or function that runs with its owner's rights), or approval of a
hazardous change.

    -- pgstack: accept auth_rls_initplan: <why this finding is acceptable here,
    --   continued on the next lines, each indented by two spaces after the -->
    CREATE POLICY ...

    -- pgstack: approve index_build, share_lock: <why this change is safe on this table>
    CREATE INDEX ...

    -- pgstack: renamed from leads_old       (above CREATE TABLE: the table's old name, or
    CREATE TABLE leads (                      above a column inside it: that column's)
        -- pgstack: renamed from mail
        email text,

An annotation belongs to the statement it precedes (or sits in): the comments between the end
of the previous statement and the end of this one. It is read with pglast's scanner, so a
`pgstack:` inside a string or a function body is never mistaken for one. The acceptance
reaches the object's resource inputs as `accepted: {rule: reason}`, where the policy pack
(policy/) reads it; a bad annotation stops the run with its file and line.
"""

import re
from dataclasses import dataclass

from pglast import parser as pg_parser

from .errors import SourceText, SqlModelError
from .hazards import BY_NAME as HAZARDS

PREFIX = "pgstack:"
GRAMMAR = "-- pgstack: accept <rule>: <reason>"
APPROVAL = "-- pgstack: approve <hazard>[, <hazard>]: <reason>"
RENAME = "-- pgstack: renamed from <old name>"
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")  # the old name as the catalog spells it

# The policy pack's advisory rules and the kind of object each reports a finding on: the
# statement declaring that object (for a table: CREATE TABLE, ALTER TABLE or COMMENT ON) is
# where the acceptance goes. tests/test_policy_rules.py checks the pack against these lists.
ADVISORY_RULES = {
    "rls_enabled_no_policy": "table",
    "multiple_permissive_policies": "table",
    "unindexed_foreign_keys": "table",
    "no_primary_key": "table",
    "auth_rls_initplan": "policy",
    "unindexed_policy_columns": "policy",
    "duplicate_index": "index",
    "function_search_path_mutable": "function",
}
# Opt-in rules: code that runs with its owner's rights, whom row level security does not bind.
# The parser refuses it unless the statement accepts the rule with a written reason (a view
# `WITH (security_invoker = false)`, a SECURITY DEFINER function); the policy pack reports it as
# mandatory unless accepted.
OPT_IN_RULES = {
    "security_definer_view": "view",
    "security_definer_function": "function",
}
# Mandatory rules are fixed, never accepted.
MANDATORY_RULES = frozenset({
    "rls_disabled_in_public", "rls_disabled", "policy_exists_rls_disabled", "rls_policy_always_true",
    "rls_references_user_metadata", "security_definer_function_search_path", "anon_grants",
    "unapproved_hazard",
})
ACCEPTABLE_RULES = {**ADVISORY_RULES, **OPT_IN_RULES}

STATEMENT_KINDS = {"table": "CREATE TABLE (or an ALTER TABLE or COMMENT ON of it)", "policy": "CREATE POLICY",
                   "index": "CREATE INDEX", "function": "CREATE FUNCTION", "view": "CREATE VIEW"}


@dataclass(frozen=True)
class Acceptance:
    rule: str  # an advisory rule, or for an approval a hazard's name
    reason: str  # for a rename: the old name
    line: int
    approval: bool = False
    rename: bool = False
    offset: int = 0  # where the comment starts: a rename inside CREATE TABLE is about a column


def _body(text: str) -> str:
    """A comment's text without its delimiters."""
    return text[2:-2] if text.startswith("/*") else text[2:]


def _approvals(src: SourceText, line: int, rest: str) -> list[Acceptance]:
    names, colon, reason = rest.partition(":")
    hazards = [n.strip() for n in names.split(",") if n.strip()]
    for hazard in hazards:
        if hazard not in HAZARDS:
            raise SqlModelError(src.name, line, f"{hazard!r} is not a hazard (hazards: {', '.join(HAZARDS)})")
    if not hazards or not colon or not reason.strip():
        raise SqlModelError(src.name, line, f"an approval names the hazards and gives a written reason: `{APPROVAL}`")
    return [Acceptance(h, reason.strip(), line, approval=True) for h in hazards]


def _acceptance(src: SourceText, offset: int, body: str) -> list[Acceptance]:
    line = src.line_of(offset)
    verb, _, rest = body.strip()[len(PREFIX):].strip().partition(" ")
    if verb == "approve":
        return _approvals(src, line, rest)
    if verb == "renamed":
        words = rest.split()
        if len(words) != 2 or words[0] != "from" or not IDENTIFIER.match(words[1]):
            raise SqlModelError(src.name, line, f"a rename names the old name, a lower-case identifier: `{RENAME}`")
        return [Acceptance("renamed_from", words[1], line, rename=True, offset=offset)]
    if verb != "accept":
        raise SqlModelError(src.name, line, f"unknown pgstack annotation {verb!r}; the forms are `{GRAMMAR}` "
                                            f"and `{APPROVAL}`")
    rule, colon, reason = rest.partition(":")
    rule, reason = rule.strip(), reason.strip()
    if rule in MANDATORY_RULES:
        raise SqlModelError(src.name, line, f"{rule} is a mandatory rule: fix the finding, it cannot be accepted")
    if rule not in ACCEPTABLE_RULES:
        raise SqlModelError(src.name, line, f"no rule that can be accepted is named {rule!r} (advisory rules: "
                                            f"{', '.join(sorted(ADVISORY_RULES))}; opt-in rules: "
                                            f"{', '.join(sorted(OPT_IN_RULES))})")
    if not colon or not reason:
        raise SqlModelError(src.name, line, f"accepting {rule} needs a written reason: `{GRAMMAR}`")
    return [Acceptance(rule, reason, line)]


def _continued(src: SourceText, tokens: list, i: int) -> str:
    """The reason's continuation: the `--` lines right below token i indented two spaces."""
    parts = []
    for previous, token in zip(tokens[i:], tokens[i + 1:], strict=False):
        body = _body(src.text[token.start:token.end + 1])
        between = src.text[previous.end + 1:token.start]
        if token.name != "SQL_COMMENT" or between.count("\n") != 1 or between.strip() or not body.startswith("  "):
            break
        parts.append(body.strip())
    return " ".join(parts)


def acceptances(src: SourceText, ends: list[int]) -> list[list[Acceptance]]:
    """For each statement (given by the offsets where they end, in order), the acceptances
    written above it or inside it."""
    found: list[list[Acceptance]] = [[] for _ in ends]
    tokens = list(pg_parser.scan(src.text))
    for i, token in enumerate(tokens):
        if token.name not in ("SQL_COMMENT", "C_COMMENT"):
            continue
        body = _body(src.text[token.start:token.end + 1])
        if not body.strip().startswith(PREFIX):
            continue
        index = next((n for n, end in enumerate(ends) if token.start < end), None)
        if index is None:
            raise SqlModelError(src.name, src.line_of(token.start),
                                "a pgstack annotation must come before the statement it is about")
        found[index] += _acceptance(src, token.start, f"{body.strip()} {_continued(src, tokens, i)}".strip())
    return found


def accept(src: SourceText, kind: str, what: str, found: list[Acceptance],
           accepted: dict[str, str] | None) -> dict[str, str] | None:
    """An object's `accepted` input (`accepted`, what earlier statements accepted) with the
    acceptances of one more statement about it; each must be about that kind of object."""
    result = dict(accepted or {})
    for acceptance in found:
        if acceptance.approval or acceptance.rename:
            continue
        expected = ACCEPTABLE_RULES[acceptance.rule]
        if expected != kind:
            raise SqlModelError(src.name, acceptance.line,
                                f"{acceptance.rule} findings are about a {expected}: put the annotation above "
                                f"its {STATEMENT_KINDS[expected]} statement, not above this {what}")
        if acceptance.rule in result:
            raise SqlModelError(src.name, acceptance.line, f"{acceptance.rule} is accepted twice for this {kind}")
        result[acceptance.rule] = acceptance.reason
    return result or None


def approve(src: SourceText, found: list[Acceptance], approved: dict[str, str] | None) -> dict[str, str] | None:
    """An object's `approved` input with the approvals of one more statement about it."""
    result = dict(approved or {})
    for approval in (a for a in found if a.approval):
        if approval.rule in result:
            raise SqlModelError(src.name, approval.line, f"{approval.rule} is approved twice for this object")
        result[approval.rule] = approval.reason
    return result or None
