"""RFC 9457 problem documents: what every JSON endpoint of the web app answers when it
refuses, naming the field when one is at fault."""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse

# RFC 9110's names where Python 3.11's `HTTPStatus` still has RFC 7231's (the docs and
# every client generated from /openapi.json read these).
TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def problem(
    status: int,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """`extra`: more members (the API's `payment_id`, `errors`), left out when None. A
    problem naming a field lists it in `errors` too, as one naming several does: a client
    reads every refusal the same way."""
    body: dict[str, object] = {
        "type": "about:blank",
        "title": TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if field:
        body["field"] = field
    body.update({name: value for name, value in extra.items() if value is not None})
    if field and "errors" not in body:
        body["errors"] = [{"field": field, "detail": detail.removeprefix(f"{field}: ")}]
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )
