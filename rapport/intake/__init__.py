"""The intake: how billing systems that would rather not speak Temporal hand accounts
over. The HTTP API on `journey web` (`/v1/...`, `rapport.web.api` serves it; the
operations are here, in `service`), its API keys (`keys`), the OpenAPI document built
from the same models as the workflow's contract (`openapi`), and `journey import` of a
daily CSV or JSONL file (`files` reads it, `importer` runs it)."""
