"""The stack program: read the stack's settings, parse every module, declare the resources.

All modules are parsed and checked before the first resource is declared, so a bad file or a
bad config key stops the run before anything reaches a database.
"""

from pathlib import Path

import pulumi
import pulumi_postgresql as postgresql

from .model.parser import KnownTables, parse_module
from .schema_module import SchemaModule, TableRegistry
from .settings import NAMESPACE, StackSettings, read_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent


def load_modules(settings: StackSettings, sql_root: Path, display_root: Path):
    """Parse every configured module, in config order: a module may refer to tables of the
    modules listed before it and to the external tables its config declares."""
    known = KnownTables()
    modules = []
    for config in settings.modules:
        for table in config.external_tables:
            schema, _, name = table.rpartition(".")
            known.tables.setdefault((schema or config.schema, name), None)
        module = parse_module(config.name, config.schema, sql_root / config.name, known,
                              set(settings.roles), display_root=display_root)
        known.add_module(module)
        modules.append((config, module))
    return modules


def build(sql_root: Path | None = None) -> dict:
    config = pulumi.Config(NAMESPACE)
    settings = read_settings(config.get)
    sql_root = sql_root or PROJECT_DIR / "sql"
    modules = load_modules(settings, sql_root, display_root=sql_root.parent)

    conn = settings.connection
    pg_provider = postgresql.Provider(
        "postgresql",
        host=conn.host, port=conn.port, database=conn.dbname, username=conn.user,
        password=config.get_secret("db_password"), sslmode=conn.sslmode,
        # Supabase's postgres role is not a superuser; the provider must not assume it is.
        superuser=settings.target == "postgres",
    )
    registry = TableRegistry()
    components = {}
    for module_config, module in modules:
        components[module.name] = SchemaModule(module, module_config, registry, pg_provider)
    pulumi.export("modules", {name: c.urn for name, c in components.items()})
    return components
