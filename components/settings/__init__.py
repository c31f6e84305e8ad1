"""Layer 1: the stack's typed configuration (`pgstack:` keys), validated once, with errors that
name the key. No Pulumi import: the program and the dynamic provider both read it.

- connection.py: db_* and safety, all the provider reads (`provider_settings`);
- modules.py: which sql/ folders are deployed, where and how;
- access.py: owner role, application roles, grants;
- stack.py: the whole stack's settings and the checks across keys.
"""

from .access import GrantConfig, RoleConfig
from .base import NAMESPACE, ConfigError
from .connection import Connection, ProviderSettings, Safety, provider_settings
from .modules import ModuleConfig, PartitionSpec
from .stack import StackSettings, read_settings

__all__ = ["NAMESPACE", "ConfigError", "Connection", "GrantConfig", "ModuleConfig", "PartitionSpec",
           "ProviderSettings", "RoleConfig", "Safety", "StackSettings", "provider_settings", "read_settings"]
