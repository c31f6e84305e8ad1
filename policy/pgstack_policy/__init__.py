"""pgstack's policy pack: row-level security and schema rules over the stack's resources.

Names follow Supabase's database linter (splinter, supabase/splinter lints/) where it has the
rule, so users recognise them; unindexed_policy_columns, security_definer_function_search_path,
security_definer_function and anon_grants are this project's. Mandatory rules stop a preview or
update; advisory ones are reported. Advisory and opt-in findings (opt-in: mandatory rules on
code that runs with its owner's rights) may be accepted with a written reason in the SQL file;
components/model/annotations.py keeps the same three lists for the parser, which refuses an
opt-in finding without its reason.

`RULES` are plain objects: tests call each rule's policy's `validate` directly. The pack itself
(PolicyPack, which starts a server and never returns) is built only in policy/__main__.py.
"""

from . import changes, definitions, grants, indexes, rls
from .rule import ADVISORY, MANDATORY, Finding, Rule

__all__ = ["RULES", "POLICIES", "Finding", "Rule"]

RULES = [
    Rule("rls_disabled_in_public", MANDATORY, "Tables in schema public have row level security enabled.",
         rls.rls_disabled_in_public, ("Table",)),
    Rule("rls_disabled", MANDATORY, "Tables in every other schema have row level security enabled.",
         rls.rls_disabled, ("Table",)),
    Rule("policy_exists_rls_disabled", MANDATORY, "A table with policies has row level security enabled.",
         rls.policy_exists_rls_disabled),
    Rule("rls_enabled_no_policy", ADVISORY, "A table with row level security has a policy, or is deny-all on purpose.",
         rls.rls_enabled_no_policy),
    Rule("rls_policy_always_true", MANDATORY, "No permissive policy lets public, anon or authenticated write any row.",
         rls.rls_policy_always_true, ("Policy",)),
    Rule("rls_references_user_metadata", MANDATORY, "No policy trusts the JWT's user-editable user_metadata.",
         rls.rls_references_user_metadata, ("Policy",)),
    Rule("auth_rls_initplan", ADVISORY, "Policies call auth.*() and current_setting() once per query, in a sub-select.",
         rls.auth_rls_initplan, ("Policy",)),
    Rule("multiple_permissive_policies", ADVISORY, "At most one permissive policy per table, role and command.",
         rls.multiple_permissive_policies),
    Rule("unindexed_foreign_keys", ADVISORY, "Every foreign key has an index leading with its columns.",
         indexes.unindexed_foreign_keys),
    Rule("unindexed_policy_columns", ADVISORY, "Every column a policy's USING filters on leads an index.",
         indexes.unindexed_policy_columns),
    Rule("duplicate_index", ADVISORY, "No two indexes of a table are identical.", indexes.duplicate_index),
    Rule("no_primary_key", ADVISORY, "Every table has a primary key.", indexes.no_primary_key, ("Table",)),
    Rule("function_search_path_mutable", ADVISORY, "Functions fix their search_path.",
         definitions.function_search_path_mutable, ("Function",)),
    Rule("security_definer_function_search_path", MANDATORY, "SECURITY DEFINER functions fix their search_path.",
         definitions.security_definer_function_search_path, ("Function",)),
    Rule("security_definer_function", MANDATORY, "SECURITY DEFINER functions are accepted with a written reason.",
         definitions.security_definer_function, ("Function",), opt_in=True),
    Rule("security_definer_view", MANDATORY, "Views run with the caller's rights (security_invoker), or are "
         "accepted with a written reason.", definitions.security_definer_view, ("View",), opt_in=True),
    Rule("anon_grants", MANDATORY, "anon is granted nothing on a table no policy lets anon into.", grants.anon_grants),
    Rule("unapproved_hazard", MANDATORY, "In production, every hazard of a change (data loss included) is approved "
                                         "in the SQL file.", changes.unapproved_hazard,
         ("Table", "Index", "Policy", "Function", "Trigger", "View", "Partition")),
]

POLICIES = [rule.policy() for rule in RULES]
