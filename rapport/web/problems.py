"""RFC 9457 problem documents: what every JSON endpoint of the web app answers when it
refuses, naming the field when one is at fault."""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse


def problem(
    status: int,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """`extra`: more members (the API's `payment_id`, `errors`), left out when None."""
    body: dict[str, object] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if field:
        body["field"] = field
    body.update({name: value for name, value in extra.items() if value is not None})
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )
