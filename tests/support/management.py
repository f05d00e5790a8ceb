"""A fake management-API service of the tests' own: what every area's fake shares (its request log, its URLs
per version, and splitting a path into the version and the area's parts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ("FakeManagement", "Seen")


@dataclass
class Seen:
    """A request the fake service received."""

    method: str
    path: str
    query: dict[str, str]
    key: str | None
    body: Any = None


@dataclass
class FakeManagement:
    """Records every request, then hands it to :meth:`route` with its version (``api-version`` or the path's
    ``v3.x``) and the path's parts after ``/speechtotext``; an unknown route is the service's 404."""

    seen: list[Seen] = field(default_factory=list[Seen])
    base: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    def url(self, path: str, version: str) -> str:
        if version.startswith("v3."):
            return f"{self.base}/speechtotext/{version}/{path}"
        return f"{self.base}/speechtotext/{path}?api-version={version}"

    def of(self, method: str) -> list[Seen]:
        """The requests received with ``method``."""
        return [seen for seen in self.seen if seen.method == method]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body: Any = await request.json() if request.can_read_body else None
        self.seen.append(
            Seen(
                request.method,
                request.path,
                dict(request.query),
                request.headers.get("Ocp-Apim-Subscription-Key"),
                body,
            )
        )
        parts = request.path.split("/")[2:]  # after /speechtotext
        version = request.query.get("api-version", "")
        if parts and parts[0].startswith("v3."):
            version, parts = parts[0], parts[1:]
        answer = await self.route(request, version, parts, body)
        if answer is None:
            return web.json_response({"code": "NotFound", "message": f"no route {request.path}"}, status=404)
        return answer

    async def route(self, request: web.Request, version: str, parts: list[str], body: Any) -> web.StreamResponse | None:
        """The area's answer, or ``None`` for a route it does not have."""
        return None
