"""Compliance: the rules the law sets, whatever a journey definition says.

The law of each place is data: rule packs in `journeys/rules/`, each rule with its
citation (docs/compliance.md); `journey rules` lists them.

- `packs`: a rule pack's model (window, closed days, cap, cooldown, duty).
- `table`: every pack in the folder, read and checked once, and which apply to an account.
- `fit`: a journey's policy checked against the packs of every place it reaches.
- `rules`: the engine's own floors, whatever the packs say (contact hours, the voice
  cap, an opt-out line on every email and text).
- `keywords`: the SMS keywords that opt out, opt back in or ask for help, by language.
- `zones`, `calendars`: every zone a customer may be in, and public holidays, for the
  send-time rules to come.
"""
