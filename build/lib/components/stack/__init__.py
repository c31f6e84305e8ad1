"""Layer 4: the Pulumi program. program.py composes it; loading.py reads and checks the modules
against the config; validation/ applies them to a scratch database before anything is declared;
schema_module.py, roles.py and grants.py declare the resources, through resources.py for the
dynamic ones."""
