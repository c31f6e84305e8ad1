"""The policy pack's entry point: `pulumi preview --policy-pack policy`. Building the PolicyPack
starts the analyzer server and never returns, so nothing else happens here: the rules live in
pgstack_policy/, where the tests import them."""

from pgstack_policy import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="pgstack", policies=POLICIES, enforcement_level=EnforcementLevel.ADVISORY)
