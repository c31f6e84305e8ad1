"""StackRoles: the stack's roles and memberships, as pulumi_postgresql resources.

- The owner role owns every object the program creates. It cannot log in and no role may be a
  member of it, except the connecting (deploying) user, who needs it to create and alter the
  objects.
- On a plain-PostgreSQL target, Supabase's API roles are created the way Supabase has them
  (anon, authenticated: NOLOGIN; service_role: NOLOGIN BYPASSRLS; authenticator: LOGIN
  NOINHERIT, member of all three), so policies behave the same in dev and in prod. On Supabase
  they exist and are only referred to by name.
- Application roles come from `pgstack:roles`. A login role's password is generated
  (pulumi_random) or read from a secret config key; either way it is a secret in state and only
  exported as a secret output.
"""

import pulumi
import pulumi_postgresql as postgresql
import pulumi_random as random

from ..settings import ConfigError, RoleConfig, StackSettings
from ..supabase import API_ROLES, AUTHENTICATOR
from .grants import owner_rights
from .loading import LoadedStack

PASSWORD_LENGTH = 32


def configured_passwords(settings: StackSettings, get_secret) -> dict[str, pulumi.Output[str]]:
    """The passwords read from secret config keys, by role. Called before any resource is
    declared, so a missing key stops the run before anything is applied."""
    passwords = {}
    for role in settings.roles:
        if role.password_key:
            password = get_secret(role.password_key)
            if password is None:
                raise ConfigError(role.password_key, f"holds the password of role {role.name} "
                                  f"({role.key}.password) and is not set; set it with "
                                  f"`pulumi config set --secret pgstack:{role.password_key}`")
            passwords[role.name] = password
    return passwords


class StackRoles(pulumi.ComponentResource):
    def __init__(self, settings: StackSettings, stack: LoadedStack, pg_provider: postgresql.Provider,
                 configured: dict[str, pulumi.Output[str]], opts: pulumi.ResourceOptions | None = None):
        """`configured`: the passwords read from config (`configured_passwords`), by role. The
        owner's rights on the schemas the modules use are declared here too (`owner_rights`):
        they are what the owner needs before anything is created."""
        super().__init__("pgstack:index:Roles", "roles", None, opts)
        self._opts = pulumi.ResourceOptions(parent=self, provider=pg_provider)
        self.names: dict[str, pulumi.Input[str]] = {name: name for name in API_ROLES}
        self.passwords: dict[str, pulumi.Output[str]] = {}
        self.resources: list[pulumi.Resource] = []

        # Deleting the owner would hand every table to the deploying user: only where data
        # loss is allowed may it go away with the stack.
        owner = self._role(settings.owner_role, login=False,
                           protect=not settings.safety.allow_data_loss)
        self.owner: pulumi.Output[str] = owner.name
        self._member(settings.connection.user, settings.owner_role)

        if settings.target == "postgres":
            self._supabase_roles()
        for role in settings.roles:
            self._application_role(role, configured.get(role.name))
        for role in settings.roles:
            for parent in role.member_of:
                self._member(role.name, parent)
        self.resources += owner_rights(settings, stack, self.owner, self._opts)

        self.register_outputs({"owner": self.owner, "roles": sorted(self.names)})

    def _role(self, name: str, protect: bool = False, **args) -> postgresql.Role:
        role = postgresql.Role(name, name=name, opts=pulumi.ResourceOptions.merge(
            self._opts, pulumi.ResourceOptions(protect=protect)), **args)
        self.names[name] = role.name
        self.resources.append(role)
        return role

    def _member(self, member: str, group: str) -> None:
        self.resources.append(postgresql.GrantRole(
            f"{member} in {group}", role=self.names.get(member, member), grant_role=self.names[group],
            opts=self._opts))

    def _supabase_roles(self) -> None:
        self._role("anon", login=False)
        self._role("authenticated", login=False)
        self._role("service_role", login=False, bypass_row_level_security=True)
        self._role(AUTHENTICATOR, login=True, inherit=False, password=self._generated(AUTHENTICATOR))
        for api_role in API_ROLES:
            self._member(AUTHENTICATOR, api_role)

    def _generated(self, name: str) -> pulumi.Output[str]:
        password = random.RandomPassword(f"{name}-password", length=PASSWORD_LENGTH, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
        # Secret already (additional_secret_outputs), marked again so no path can lose it.
        self.passwords[name] = pulumi.Output.secret(password.result)
        return self.passwords[name]

    def _application_role(self, role: RoleConfig, configured: pulumi.Output[str] | None) -> None:
        password = configured
        if role.generated_password:
            password = self._generated(role.name)
        elif password is not None:
            self.passwords[role.name] = password
        self._role(role.name, login=role.login, password=password, connection_limit=role.connection_limit,
                   statement_timeout=role.statement_timeout)
