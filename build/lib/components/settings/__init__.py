"""Layer 1: the stack's typed configuration (`pgstack:` keys), validated once, with errors that
name the key. No Pulumi import: the program and the dynamic provider both read it.

- connection.py: db_* and safety, all the provider reads (`provider_settings`);
- modules.py: which sql/ folders are deployed, where and how;
- access.py: owner role, application roles, grants;
- validation.py: where the program checks the stack's SQL before declaring it (not the provider's);
- stack.py: the whole stack's settings and the checks across keys.
"""

from .access import GrantConfig, RoleConfig
from .base import NAMESPACE, ConfigError
from .connection import Connection, ProviderSettings, Safety, provider_settings
from .modules import ModuleConfig, PartitionSpec
from .stack import StackSettings, read_settings
from .validation import Validation

__all__ = ["NAMESPACE", "ConfigError", "Connection", "GrantConfig", "ModuleConfig", "PartitionSpec",
           "ProviderSettings", "RoleConfig", "Safety", "StackSettings", "Validation", "provider_settings",
           "read_settings"]
