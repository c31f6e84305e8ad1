"""The stack program: read the stack's settings, parse every module, declare the resources.

All modules are parsed and checked, and all config validated, before the first resource is
declared, so a bad file or a bad config key stops the run before anything reaches a database.

Order of what is declared (the engine orders by the data dependencies between them):
roles and memberships, the owner's rights on the schemas, the schema modules (on a
plain-PostgreSQL target first the built-in `supabase_auth` module: schema auth with auth.uid(),
auth.role(), auth.jwt()), then the grants on what the modules created.
"""

from pathlib import Path

import pulumi
import pulumi_postgresql as postgresql

from .access_settings import API_ROLES, GrantConfig
from .grants import StackGrants, owner_rights
from .model.parser import KnownTables, parse_module
from .roles import StackRoles, configured_passwords
from .schema_module import SchemaModule, TableRegistry
from .settings import NAMESPACE, ModuleConfig, StackSettings, read_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
SUPABASE_AUTH = ModuleConfig(name="supabase_auth", schema="auth", create_schema=True)
SUPABASE_AUTH_DIR = Path(__file__).resolve().parent / "supabase_auth"
# What Supabase grants on its auth helpers, granted the same way on plain PostgreSQL.
SUPABASE_AUTH_GRANTS = tuple(GrantConfig(SUPABASE_AUTH.name, role, schema=("usage",), functions=("execute",))
                             for role in API_ROLES)


def load_modules(settings: StackSettings, sql_root: Path, display_root: Path):
    """Parse every configured module, in config order: a module may refer to tables of the
    modules listed before it and to the external tables its config declares."""
    known = KnownTables()
    modules = []
    folders = [(config, sql_root / config.name) for config in settings.modules]
    if settings.target == "postgres":
        folders.insert(0, (SUPABASE_AUTH, SUPABASE_AUTH_DIR))
    for config, folder in folders:
        for table in config.external_tables:
            schema, _, name = table.rpartition(".")
            known.tables.setdefault((schema or config.schema, name), None)
        module = parse_module(config.name, config.schema, folder, known, settings.role_names(),
                              display_root=display_root)
        known.add_module(module)
        modules.append((config, module))
    return modules


def build(sql_root: Path | None = None) -> dict:
    config = pulumi.Config(NAMESPACE)
    settings = read_settings(config.get)
    sql_root = sql_root or PROJECT_DIR / "sql"
    modules = load_modules(settings, sql_root, display_root=sql_root.parent)
    passwords = configured_passwords(settings, config.get_secret)

    conn = settings.connection
    pg_provider = postgresql.Provider(
        "postgresql",
        host=conn.host, port=conn.port, database=conn.dbname, username=conn.user,
        password=config.get_secret("db_password"), sslmode=conn.sslmode,
        # Supabase's postgres role is not a superuser; the provider must not assume it is.
        superuser=settings.target == "postgres",
    )
    roles = StackRoles(settings, pg_provider, passwords)
    prerequisites = roles.resources + owner_rights(settings, modules, roles.owner, pg_provider, parent=roles)

    registry = TableRegistry()
    components: dict[str, SchemaModule] = {}
    for module_config, module in modules:
        components[module.name] = SchemaModule(module, module_config, registry, pg_provider, roles.owner,
                                               prerequisites)
        if module_config is SUPABASE_AUTH:  # policies call auth.uid(): it must exist first
            prerequisites = prerequisites + list(components[module.name].functions.values())

    grants = (SUPABASE_AUTH_GRANTS if settings.target == "postgres" else ()) + settings.grants
    StackGrants(settings, grants, components, {m.name: m for _, m in modules}, roles.names, roles.owner,
                pg_provider)

    pulumi.export("modules", {name: c.urn for name, c in components.items()})
    pulumi.export("owner_role", roles.owner)
    # Only ever secret outputs: `pulumi stack output --show-secrets role_passwords` reveals them.
    pulumi.export("role_passwords", pulumi.Output.secret(roles.passwords))
    return components
