"""Load every module the stack deploys and check it against the stack config, before anything
is declared: a bad file or a config key that does not fit the files stops the run here.

Modules are parsed in config order into one stack-wide DeclaredTables, so a module may refer to
the tables of the modules listed before it and to the external tables its config declares. On
a plain-PostgreSQL target the built-in `supabase_auth` module (auth.uid(), auth.role(),
auth.jwt()) comes first.
"""

import re
from dataclasses import dataclass, replace
from pathlib import Path

from ..model.declared import DeclaredTables
from ..model.migrations import Migration, load_migrations
from ..model.objects import Extension, Module
from ..model.parser import parse_module
from ..model.partitions import monthly_key_problem
from ..model.retention import Retention, load_retention
from ..model.sample_data import SAMPLE_FOLDER, SampleData, load_sample_data, sample_files
from ..settings import ConfigError, GrantConfig, ModuleConfig, StackSettings
from ..supabase import API_ROLES, AUTH_MODULE, AUTH_SCHEMA, AUTH_SQL_DIR, EXTENSIONS_SCHEMA

SUPABASE_AUTH = ModuleConfig.model_validate({"name": AUTH_MODULE, "schema": AUTH_SCHEMA, "create_schema": True})
# What Supabase grants on its auth helpers, granted the same way on plain PostgreSQL.
SUPABASE_AUTH_GRANTS = tuple(GrantConfig.model_validate({"module": AUTH_MODULE, "role": role, "schema": ["usage"],
                                                         "functions": ["execute"]})
                             for role in API_ROLES)


@dataclass(frozen=True)
class LoadedModule:
    """One module as this stack deploys it: the parsed files and what the config adds."""

    config: ModuleConfig
    module: Module
    extensions: tuple[Extension, ...]  # those this stack installs (config may skip some)
    retention: tuple[Retention, ...]
    sample_data: SampleData | None
    migrations: tuple[Migration, ...] = ()  # sql/<module>/migrations/, in number order

    @property
    def name(self) -> str:
        return self.module.name

    @property
    def builtin(self) -> bool:
        """The Supabase auth helpers the program deploys itself on plain PostgreSQL."""
        return self.config is SUPABASE_AUTH


@dataclass(frozen=True)
class LoadedStack:
    modules: tuple[LoadedModule, ...]
    declared: DeclaredTables

    def grants(self, settings: StackSettings) -> tuple[GrantConfig, ...]:
        builtin = SUPABASE_AUTH_GRANTS if any(m.builtin for m in self.modules) else ()
        return builtin + settings.grants


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


def installed_extensions(config: ModuleConfig, module: Module, target: str) -> tuple[Extension, ...]:
    """The module's extensions, without those the stack config says this stack does not install.
    On Supabase one whose file names no schema goes in `extensions`, as Supabase installs them
    (its linter's extension_in_public); elsewhere where PostgreSQL puts it (public)."""
    declared = {e.name for e in module.extensions}
    for j, name in enumerate(config.skip_extensions):
        if name not in declared:
            raise ConfigError(f"{config.key}.skip_extensions[{j}]", f"module {module.name} does not declare "
                              f"extension {name} (it declares: {', '.join(sorted(declared)) or 'none'})")
    default = EXTENSIONS_SCHEMA if target == "supabase" else None
    return tuple(replace(e, schema=e.schema or default) for e in module.extensions
                 if e.name not in config.skip_extensions)


def load_sample(config: ModuleConfig, folder: Path, module: Module, display_root: Path) -> SampleData | None:
    """modules[i].sample_data: the module's sample/*.sql files, checked against the module."""
    if not config.sample_data:
        return None
    files = sample_files(folder)
    if not files:
        raise ConfigError(f"{config.key}.sample_data", f"module {module.name} has no sample data: "
                          f"no .sql file in {folder.relative_to(display_root)}/{SAMPLE_FOLDER}/")
    return load_sample_data(files, module, display_root)


def load_stack(settings: StackSettings, sql_root: Path, display_root: Path) -> LoadedStack:
    declared = DeclaredTables()
    folders = [(config, sql_root / config.name) for config in settings.modules]
    if settings.target == "postgres":
        folders.insert(0, (SUPABASE_AUTH, AUTH_SQL_DIR))
    loaded = []
    for config, folder in folders:
        for table in config.external_tables:
            schema, _, name = table.rpartition(".")
            declared.add_external(schema or config.schema, name)
        module = parse_module(config.name, config.schema, folder, declared, settings.role_names(),
                              display_root=display_root)
        check_partitions(config, module)
        loaded.append(LoadedModule(
            config=config, module=module,
            extensions=installed_extensions(config, module, settings.target),
            retention=tuple(load_retention(folder, module, display_root)),  # checked at preview too
            sample_data=load_sample(config, folder, module, display_root),
            migrations=tuple(load_migrations(folder, module, display_root)),
        ))
        declared.add_module(module)
    return LoadedStack(tuple(loaded), declared)
