"""The journey language: what a designer writes, and how it is checked. Pure: no Temporal,
no I/O beyond reading the designer's files.

- `models`: the definition, as pydantic models (the schema).
- `account`: the account a billing system hands over.
- `types`, `durations`: the small value types (channels, money, clock times, durations).
- `yaml_source`: YAML loading that keeps line numbers.
- `loader`: turns files into validated journeys, reporting every problem.
- `checks`: the checks beyond the schema (gotos, loops, templates, opt-out, ...).
- `expressions`, `templates`: the sandboxed Jinja2 parts.
- `context`: what a template sees; `selection`: which journey and segment an account gets.
"""
