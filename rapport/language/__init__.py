"""The journey language: what a designer writes, and how it is checked.

- `models`: the definition, as pydantic models (the schema).
- `account`: the account a billing system hands over.
- `yaml_source`: YAML loading that keeps line numbers.
- `loader`: turns files into validated journeys, reporting every problem.
- `checks`: the checks beyond the schema (gotos, loops, templates, ...).
- `expressions`, `templates`: the sandboxed Jinja2 parts.
"""
