"""The plan of a stack without the Pulumi CLI: what `pulumi refresh` then `pulumi up` would run,
object by object, computed by the dynamic provider's own planning from the live catalog
(`python -m components.plan --stack dev`, `./dev-up plan`)."""
