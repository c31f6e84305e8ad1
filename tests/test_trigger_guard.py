"""Which triggers on a table the deployer is about to write are foreign (provider/trigger_guard.py),
as the rule reads catalog rows; tests/test_privileges_live.py runs it against real attacks."""

from components.provider.trigger_guard import foreign_grantees, foreign_triggers

DECLARED = [{"table": "notes", "name": "notes_seen", "function": "app.notes_seen"}]


def row(name: str, function: str, trusted: bool = True, table: str = "notes") -> dict:
    return {"table": table, "name": name, "function": function, "trusted": trusted}


def test_on_a_stack_table_only_declared_triggers_of_trusted_functions_pass():
    found = [row("notes_seen", "app.notes_seen"),  # as declared
             row("zz", "app.notes_seen"),  # the stack's function, attached by someone else
             row("notes_seen", "app.other"),  # the declared name, another function
             row("spy", "pg_temp_3.spy", trusted=False),
             row("on_part", "public.noop", table="notes_2026_02")]  # on a partition: not declared there
    assert [t["name"] for t in foreign_triggers("app", found, DECLARED)] == ["zz", "notes_seen", "spy", "on_part"]
    assert foreign_triggers("app", found[:1], DECLARED) == []


def test_on_a_table_the_stack_only_extends_a_trusted_function_passes():
    """Its other triggers are its owner's business; one whose function belongs to a role that is
    not a superuser, the table's owner or the deployer is still refused."""
    found = [row("site_audit", "site.audit"), row("spy", "pg_temp_3.spy", trusted=False)]
    assert foreign_triggers("public", found, None) == [
        {"schema": "public", "table": "notes", "name": "spy", "function": "pg_temp_3.spy"}]


def test_trigger_privileges_granted_with_a_reason_are_not_reported():
    found = [{"table": "notes", "role": "auditor"}, {"table": "notes", "role": "public"}]
    assert foreign_grantees("app", found, ["auditor"]) == [{"schema": "app", "table": "notes", "role": "public"}]


def test_a_role_granted_trigger_with_a_reason_may_not_pass_it_on():
    found = [{"table": "notes", "role": "auditor", "grantable": True}, {"table": "notes", "role": "clerk", "grantable": True}]
    assert foreign_grantees("app", found, ["auditor"]) == [
        {"schema": "app", "table": "notes", "role": "clerk"},
        {"schema": "app", "table": "notes", "role": "auditor", "grant_option": True}]
