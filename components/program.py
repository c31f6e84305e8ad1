"""The stack program: read the stack's settings, parse every module, declare the resources.

All modules are parsed and checked before the first resource is declared, so a bad file or a
bad config key stops the run before anything reaches a database.
"""

import re
from datetime import date
from pathlib import Path

import pulumi
import pulumi_postgresql as postgresql

from .model.objects import Module
from .model.parser import KnownTables, parse_module
from .model.partitions import monthly_key_problem
from .schema_module import SchemaModule, TableRegistry
from .settings import NAMESPACE, ConfigError, ModuleConfig, StackSettings, read_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
        check_partitions(config, module)
        known.add_module(module)
        modules.append((config, module))
    return modules


def build(sql_root: Path | None = None, today: date | None = None) -> dict:
    """`today` (UTC date by default) decides which monthly partitions exist; tests inject it."""
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
        components[module.name] = SchemaModule(module, module_config, registry, pg_provider, today=today)
    pulumi.export("modules", {name: c.urn for name, c in components.items()})
    return components
