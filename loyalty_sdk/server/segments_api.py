"""``GET /api/v1/segments`` (what segments there are) and ``GET /api/v1/segments/{name}``
(its members, as JSON or, with ``?format=csv`` or ``Accept: text/csv``, as CSV; a page of them
with ``?limit=``). A segment's parameters are query parameters named after them:
``/api/v1/segments/at-risk?days=90``.
Any valid key may read them; a segment only ever lists the key's shop's members.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from loyalty_sdk.segments.export import export, segments
from loyalty_sdk.server.api_models import problem_answers
from loyalty_sdk.server.auth import ReadAccess

router = APIRouter(prefix="/api/v1", tags=["segments"])
RESERVED = {"shop", "format", "as_of", "after", "limit"}
"""Query parameters of the endpoint itself, never a segment's."""
MAX_PAGE = 10_000


@router.get("/segments", responses=problem_answers())
def list_segments(request: Request, access: ReadAccess) -> dict[str, Any]:
    """Every segment with its description and its parameters' defaults."""
    loyalty = request.app.state.runtime.loyalty(access.shop_id)
    return {"segments": [{"name": s.name, "description": s.description,
                          "params": {k: str(v) if not isinstance(v, int) else v for k, v in s.params.items()}}
                         for s in segments(loyalty.host, loyalty.program).values()]}


@router.get("/segments/{name}", responses={**problem_answers(), 200: {
    "content": {"application/json": {}, "text/csv": {}},
    "description": "The segment's members: `customer_id`, `email`, `name`, `tier`, `balance` and its figures."}})
def get_segment(request: Request, access: ReadAccess,
                name: Annotated[str, Path(min_length=1, max_length=64)],
                format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
                as_of: Annotated[AwareDatetime | None, Query(description="Evaluate at this moment (default: now).")]
                = None,
                limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="At most this many members: "
                                                   "one page (default: every member at once).")] = None,
                after: Annotated[int | None, Query(ge=0, description="The page after this member id (the "
                                                   "previous page's `next`).")] = None) -> Response:
    """The segment's members. Its parameters are query parameters (``?days=90``).

    With ``limit``, a page: ``next`` in the JSON, and a ``Link: <...>; rel="next"`` header in
    either format, lead to the next one, evaluated at the same moment (``as_of``)."""
    loyalty = request.app.state.runtime.loyalty(access.shop_id)
    params = {key: value for key, value in request.query_params.items() if key not in RESERVED}
    result = export(loyalty, name, params, as_of=as_of, after=after, limit=limit)
    headers = {}
    if result.next is not None:
        following = request.url.remove_query_params(["after", "as_of"]).include_query_params(
            after=result.next, as_of=result.as_of.isoformat())
        headers["link"] = f'<{following}>; rel="next"'
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        return Response(result.csv(), media_type="text/csv; charset=utf-8", headers={
            **headers, "content-disposition": f'attachment; filename="{result.segment}.csv"'})
    return Response(orjson.dumps(result.as_dict()), media_type="application/json", headers=headers)


__all__ = ["router"]
