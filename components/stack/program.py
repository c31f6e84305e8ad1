"""The stack program, the composition root: read the stack's settings, load every module, then
declare the resources.

All modules are parsed and checked, all config validated, and the whole schema applied to a
scratch database (validation/, `pgstack:validation`) before the first resource is declared, so a
bad file, a bad config key or SQL that PostgreSQL rejects stops the run before anything reaches
the target database.

What is declared (the engine orders it by the data dependencies between the resources): the
roles and memberships with the owner's rights on the schemas, the schema modules (on a
plain-PostgreSQL target first the built-in `supabase_auth` module), then the grants on what the
modules created.
"""

from datetime import date
from pathlib import Path

import pulumi
import pulumi_postgresql as postgresql

from ..model.hazards import DATA_LOSS
from ..settings import NAMESPACE, ConfigError, StackSettings, read_settings
from ..settings.connection import read_password
from .grants import StackGrants, StackGrantsArgs
from .loading import LoadedStack, load_stack
from .roles import StackRoles, configured_passwords
from .schema_module import SchemaModule, SchemaModuleArgs, StackTables
from .validation import validate_stack

PROJECT_FILE = "Pulumi.yaml"


def project_dir(start: Path | None = None) -> Path:
    """The project folder: where Pulumi.yaml is, from the working directory up. The engine runs
    the program there; sql/ is found from it, never from where the package is installed."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ConfigError("modules", f"no {PROJECT_FILE} in {start} or above it: run the program from the project "
                                 "folder, where sql/ is")


def stack_config_keys() -> list[str]:
    """Every config key the stack sets, as the engine hands them to the program."""
    keys = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.config.get_config_env())
    return sorted(k for k in keys if k.startswith(f"{NAMESPACE}:"))


def postgresql_provider(settings: StackSettings, password: pulumi.Output[str] | None) -> postgresql.Provider:
    """The one pulumi_postgresql provider of the stack, on the dynamic provider's connection."""
    conn = settings.connection
    return postgresql.Provider(
        "postgresql", host=conn.host, port=conn.port, database=conn.dbname, username=conn.user,
        password=password, sslmode=conn.sslmode,
        # Supabase's postgres role is not a superuser; the provider must not assume it is.
        superuser=settings.target == "postgres",
    )


def declare(settings: StackSettings, stack: LoadedStack, config: pulumi.Config,
            today: date | None) -> dict[str, SchemaModule]:
    passwords = configured_passwords(settings, config.get_secret)  # a missing one stops the run here
    pg_provider = postgresql_provider(settings, config.get_secret("db_password"))
    roles = StackRoles(settings, stack, pg_provider, passwords)

    tables = StackTables(stack.declared)
    components: dict[str, SchemaModule] = {}
    prerequisites = tuple(roles.resources)
    grants = stack.grants(settings)
    for loaded in stack.modules:
        trigger_grantees = tuple(g.role for g in grants if g.module == loaded.name and "trigger" in g.tables)
        component = SchemaModule(SchemaModuleArgs(loaded, tables, pg_provider, roles.owner, prerequisites, today,
                                                  data_loss_accepted=settings.safety.accepts(DATA_LOSS.name),
                                                  trigger_grantees=trigger_grantees))
        components[loaded.name] = component
        if loaded.builtin:  # policies call auth.uid(): it must exist first
            prerequisites += tuple(component.functions.values())

    StackGrants(StackGrantsArgs(settings, grants, stack, components, tables, roles.names, roles.owner, pg_provider))

    pulumi.export("modules", {name: c.urn for name, c in components.items()})
    pulumi.export("owner_role", roles.owner)
    # What a deletion job acts on: per module, table -> {column, keep} (keep None: indefinite).
    pulumi.export("retention", {m.name: {r.table: {"column": r.column, "keep": r.keep} for r in m.retention}
                                for m in stack.modules if m.retention})
    # Only ever secret outputs: `pulumi stack output --show-secrets role_passwords` reveals them.
    pulumi.export("role_passwords", pulumi.Output.secret(roles.passwords))
    return components


def build(sql_root: Path | None = None, today: date | None = None) -> dict[str, SchemaModule]:
    """`today` (UTC date by default) decides which monthly partitions exist; tests inject it."""
    config = pulumi.Config(NAMESPACE)
    settings = read_settings(config.get, stack_config_keys())
    sql_root = sql_root or project_dir() / "sql"
    stack = load_stack(settings, sql_root, display_root=sql_root.parent)
    read_password(config.get)  # the provider needs it: say so now, naming the key, not at the first apply
    report = validate_stack(settings, stack, config.get, today)
    if report is not None:
        for note in report.notes:
            pulumi.log.warn(note)
        pulumi.log.info(f"validated {report.statements} statements on a scratch database, {report.server}, "
                        f"in {report.seconds:.1f} s")
    return declare(settings, stack, config, today)
