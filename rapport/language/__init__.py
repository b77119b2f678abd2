"""The journey language: what a designer writes, and how it is checked. Pure: no Temporal,
no I/O beyond reading the designer's files.

- `models`: the definition, as pydantic models (the schema).
- `account`: the account a billing system hands over.
- `types`, `durations`: the small value types (channels, money, clock times, durations).
- `yaml_source`: YAML loading that keeps line numbers.
- `loader`: turns files into validated journeys, reporting every problem.
- `checks`: the checks beyond the schema (gotos, loops, templates, opt-out, ...).
- `expressions`, `templates`: the Jinja2 parts, in `sandbox` (bounded work per render).
- `context`: what a template sees; `selection`: which journey and segment an account gets.
- `samples`: the sample account templates and expressions are checked against.
- `formatting`: money and dates in the customer's locale (Babel).
- `problems`: `FILE:LINE: field.path: message`, the form of every problem reported.
"""
