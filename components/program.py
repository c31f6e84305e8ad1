"""The stack program: read the stack's settings, parse every module, declare the resources.

All modules are parsed and checked, and all config validated, before the first resource is
declared, so a bad file or a bad config key stops the run before anything reaches a database.

Order of what is declared (the engine orders by the data dependencies between them):
roles and memberships, the owner's rights on the schemas, the schema modules (on a
plain-PostgreSQL target first the built-in `supabase_auth` module: schema auth with auth.uid(),
auth.role(), auth.jwt()), then the grants on what the modules created.
"""

import re
from datetime import date
from pathlib import Path

import pulumi
import pulumi_postgresql as postgresql

from .access_settings import API_ROLES, GrantConfig
from .grants import StackGrants, owner_rights
from .model.objects import Module
from .model.parser import KnownTables, parse_module
from .model.partitions import monthly_key_problem
from .model.retention import load_retention
from .model.sample_data import SAMPLE_FOLDER, load_sample_data, sample_files
from .roles import StackRoles, configured_passwords
from .schema_module import SchemaModule, TableRegistry
from .settings import NAMESPACE, ConfigError, ModuleConfig, StackSettings, read_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
SUPABASE_AUTH = ModuleConfig(name="supabase_auth", schema="auth", create_schema=True)
SUPABASE_AUTH_DIR = Path(__file__).resolve().parent / "supabase_auth"
# What Supabase grants on its auth helpers, granted the same way on plain PostgreSQL.
SUPABASE_AUTH_GRANTS = tuple(GrantConfig(SUPABASE_AUTH.name, role, schema=("usage",), functions=("execute",))
                             for role in API_ROLES)


def check_partitions(config: ModuleConfig, module: Module) -> None:
    """Each modules[i].partitions entry names a RANGE-partitioned table of this module, and no
    other relation of the module takes a name a partition will have (<table>_YYYY_MM)."""
    relations = [t.name for t in module.tables] + [i.name for i in module.indexes] + [v.name for v in module.views]
    for spec in config.partitions:
        problem = monthly_key_problem(module.table(spec.table))
        if problem:
            raise ConfigError(spec.key, f"table {spec.table} of module {module.name}: {problem}")
        for name in relations:
            if re.fullmatch(rf"{re.escape(spec.table)}_\d{{4}}_\d{{2}}", name):
                raise ConfigError(spec.key, f"module {module.name} declares {name}, a name its monthly "
                                            f"partitions use; rename it")


def skip_extensions(config: ModuleConfig, module: Module) -> None:
    """Leave out the extensions the stack config says this stack does not install."""
    declared = {e.name for e in module.extensions}
    for j, name in enumerate(config.skip_extensions):
        if name not in declared:
            raise ConfigError(f"{config.key}.skip_extensions[{j}]", f"module {module.name} does not declare "
                              f"extension {name} (it declares: {', '.join(sorted(declared)) or 'none'})")
    module.extensions = [e for e in module.extensions if e.name not in config.skip_extensions]


def sample_data(config: ModuleConfig, folder: Path, module: Module, display_root: Path):
    """modules[i].sample_data: the module's sample/*.sql files, checked against the module."""
    if not config.sample_data:
        return None
    files = sample_files(folder)
    if not files:
        raise ConfigError(f"{config.key}.sample_data", f"module {module.name} has no sample data: "
                          f"no .sql file in {folder.relative_to(display_root)}/{SAMPLE_FOLDER}/")
    return load_sample_data(files, module, display_root)


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
        check_partitions(config, module)
        skip_extensions(config, module)
        module.retention = load_retention(folder, module, display_root)  # checked at preview too
        module.sample_data = sample_data(config, folder, module, display_root)
        known.add_module(module)
        modules.append((config, module))
    return modules


def build(sql_root: Path | None = None, today: date | None = None) -> dict:
    """`today` (UTC date by default) decides which monthly partitions exist; tests inject it."""
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
                                               prerequisites, today=today)
        if module_config is SUPABASE_AUTH:  # policies call auth.uid(): it must exist first
            prerequisites = prerequisites + list(components[module.name].functions.values())

    grants = (SUPABASE_AUTH_GRANTS if settings.target == "postgres" else ()) + settings.grants
    StackGrants(settings, grants, components, {m.name: m for _, m in modules}, roles.names, roles.owner,
                pg_provider)

    pulumi.export("modules", {name: c.urn for name, c in components.items()})
    pulumi.export("owner_role", roles.owner)
    # What a deletion job acts on: per module, table -> {column, keep} (keep None: indefinite).
    pulumi.export("retention", {m.name: {r.table: {"column": r.column, "keep": r.keep} for r in m.retention}
                                for _, m in modules if m.retention})
    # Only ever secret outputs: `pulumi stack output --show-secrets role_passwords` reveals them.
    pulumi.export("role_passwords", pulumi.Output.secret(roles.passwords))
    return components
