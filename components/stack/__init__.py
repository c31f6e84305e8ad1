"""Layer 4: the Pulumi program. program.py composes it; loading.py reads and checks the modules
against the config; schema_module.py, roles.py and grants.py declare the resources, through
resources.py for the dynamic ones."""
