"""The Pulumi dynamic provider: executes plans with psycopg 3 and reads the catalog back."""

from .kinds import (
    EnumProvider,
    FunctionProvider,
    IndexProvider,
    PartitionProvider,
    PolicyProvider,
    TableProvider,
    TriggerProvider,
    ViewProvider,
)
from .migration import MigrationProvider
from .sample_data import SampleDataProvider

__all__ = ["EnumProvider", "FunctionProvider", "IndexProvider", "MigrationProvider", "PartitionProvider",
           "PolicyProvider", "SampleDataProvider", "TableProvider", "TriggerProvider", "ViewProvider"]
