"""Preview-time validation: before any resource is declared, the stack's whole schema is applied
to a throwaway PostgreSQL database, so what the model cannot prove by itself (types, functions,
expressions in policies and checks, function bodies, views, defaults, extensions, languages)
stops the run with its file:line instead of failing halfway through `up`.

- statements.py: what `up` would run on an empty database, rendered with the model's plan
  functions (pure);
- scratch.py: where the scratch database lives (`pgstack:validation`: the embedded PostgreSQL,
  another server, or off) and that nothing of it is left;
- check.py: apply the statements in the provider's sessions; errors.py: the error it raises.
"""

from .check import Report, validate_stack
from .errors import ValidationFailed
from .scratch import ValidationUnavailable

__all__ = ["Report", "ValidationFailed", "ValidationUnavailable", "validate_stack"]
