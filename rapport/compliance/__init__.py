"""Compliance: the rules the law sets, whatever a journey definition says.

Each rule is a constant with its citation, so that the validator, the policy
math and the messages read one source, and the coming rule packs (rules per
jurisdiction, `journey rules`) have one home.

- `rules`: contact hours, the voice-call cap, which messages must carry an opt-out.
- `keywords`: the SMS keywords that opt out, opt back in or ask for help.
"""
