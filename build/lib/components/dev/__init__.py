"""The developer's local environment: ./dev-up's commands (cli.py) and the pinned Pulumi CLI
it installs when missing (pulumi_cli.py). Not part of any stack."""
