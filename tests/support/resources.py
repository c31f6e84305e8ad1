"""Test code: example objects of each kind as resource inputs, and a Resource moved through the
provider process as the engine moves it (create, diff then update or replace, read)."""

import copy

from tests.support.provider_process import ProviderProcess, pickled

TABLE = {
    "schema": "public", "name": "accounts", "managed": "table", "source": "sql/test/001_accounts.sql:1",
    "columns": [
        {"name": "id", "type": "uuid", "not_null": True, "default": "gen_random_uuid()"},
        {"name": "tenant", "type": "text", "not_null": True},
        {"name": "email", "type": "text", "not_null": False},
        {"name": "status", "type": "text", "not_null": True, "default": "'new'"},
    ],
    "constraints": [
        {"name": "accounts_pkey", "kind": "primary_key", "columns": ["id"]},
        {"name": "accounts_status_check", "kind": "check", "columns": ["status"],
         "expression": "status IN ('new', 'active')"},
    ],
    "comment": "accounts of a tenant", "rls_enabled": True, "rls_forced": False,
}
INDEX = {"schema": "public", "name": "idx_accounts_email", "table": "accounts", "source": "x:2",
         "elements": [{"column": "email"}], "unique": False, "method": "btree", "where": "email IS NOT NULL"}
POLICY = {"schema": "public", "table": "accounts", "name": "tenant_isolation", "source": "x:3",
          "command": "all", "permissive": True, "roles": ["public"],
          "using": "tenant = current_setting('app.tenant', true)"}
FUNCTION = {"schema": "public", "name": "touch", "source": "x:4", "arguments": "", "returns": "trigger",
            "definition": "CREATE OR REPLACE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql "
                          "AS $$ BEGIN NEW.status := coalesce(NEW.status, 'new'); RETURN NEW; END $$"}
TRIGGER = {"schema": "public", "table": "accounts", "name": "accounts_touch", "source": "x:5",
           "function": "public.touch",
           "definition": "CREATE OR REPLACE TRIGGER accounts_touch BEFORE UPDATE ON public.accounts "
                         "FOR EACH ROW EXECUTE FUNCTION public.touch()"}
VIEW = {"schema": "public", "name": "active_accounts", "source": "x:6",
        "definition": "CREATE OR REPLACE VIEW public.active_accounts AS SELECT id, email FROM public.accounts "
                      "WHERE status = 'active'"}


class Resource:
    """One resource's state, moved through create/diff/update/read/delete like the engine does."""

    def __init__(self, process: ProviderProcess, provider, inputs: dict):
        self.process = process
        self.pickle = pickled(provider)
        self.urn = f"urn:pulumi:test::pgstack::{type(provider).__name__}::{inputs['name']}"
        self.id, self.outputs = process.create(self.urn, self.inputs(inputs))

    def inputs(self, props: dict) -> dict:
        return dict(copy.deepcopy(props), __provider=self.pickle)

    def apply(self, props: dict, process: ProviderProcess | None = None) -> dict:
        process = process or self.process
        diff = process.diff(self.urn, self.id, self.outputs, self.inputs(props))
        if diff["replaces"]:
            process.delete(self.urn, self.id, self.outputs)
            self.id, self.outputs = process.create(self.urn, self.inputs(props))
        elif diff["changes"]:
            self.outputs = process.update(self.urn, self.id, self.outputs, self.inputs(props))
        return diff

    def refresh(self) -> str:
        self.id, outputs = self.process.read(self.urn, self.id, self.outputs)
        self.outputs = outputs
        return self.id
