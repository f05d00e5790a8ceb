"""The route registry: one :class:`RouteSpec` per service route, the one source of every list of routes.

Each area declares its routes next to their handlers, in its ``_resources/<area>/routes.py``::

    ROUTES = RouteTable("fast")

    @service_route(ROUTES, RouteSpec(name="locales", method="GET", paths=(...), api_versions=(...)))
    async def _locales(request: web.Request) -> web.StreamResponse: ...

Everything that names routes derives from these tables: the routes the application serves
(:func:`speech_async.emulator.create_app`), the route names faults can target (:func:`fault_routes`), the request
counters (:func:`counted_routes`), the recorded ``route`` values, the authentication rule of each
route (:attr:`RouteSpec.auth`), the api-version check (:attr:`RouteSpec.api_versions`), the CLI's
``--fault-route`` choices, and ``docs/emulator-routes.md`` (``python -m speech_async.emulator._routes_doc``
prints it, ``--write`` writes it, ``--check`` compares the file with the registry).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Sequence

    from aiohttp import web

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = (
    "ADMIN_PREFIX",
    "ANY_ROUTE",
    "AuthPolicy",
    "Refusals",
    "Route",
    "RouteSpec",
    "RouteTable",
    "area_tables",
    "counted_routes",
    "fault_routes",
    "route_specs",
    "routes_markdown",
    "service_route",
    "spec_named",
)

# The admin API's paths; no service route lives under it.
ADMIN_PREFIX: Final = "/_emulator/"
# A fault or random mode whose route is this applies to every service route.
ANY_ROUTE: Final = "*"
ROUTES_DOC: Final = Path(__file__).resolve().parents[2] / "docs" / "emulator-routes.md"

_H = TypeVar("_H", bound="Handler")


class AuthPolicy(enum.Enum):
    """Who may call a route (applied by :func:`speech_async.emulator._auth.authenticate`)."""

    #: A resource key, an issueToken token (either scope), or an Entra-style token for Cognitive Services.
    KEY_OR_TOKEN = "key or bearer token (issueToken, Entra)"
    #: A resource key and nothing else; a bearer token is a missing key (issueToken).
    KEY_ONLY = "key only"
    #: A key, an issueToken token, or ``aad#{resourceId}#{Entra token}``; no credential is a 403.
    SHORT_AUDIO = "key, issueToken token or aad#{resourceId}#{Entra token}; none: 403"
    #: No credential header: the URL's SAS query string (``sv``, ``se``, ``sig``), checked by the handler,
    #: as on Blob storage (batch result files).
    SAS = "none: a SAS query string, checked by the route"


class Refusals(enum.Enum):
    """The body shape of a route's 401/403/429 answers."""

    #: The Cognitive Services gateway's ``{"error": {"code": "401", ...}}``.
    GATEWAY = "gateway"
    #: The management API's ``Error`` shape (``{"code": "Unauthorized", ...}``), as in the published
    #: v3.0 health-status example (addendum §3.6).
    MANAGEMENT = "management"


@dataclass(frozen=True, kw_only=True)
class RouteSpec:
    """One service route: its name, HTTP method, paths and policies.

    Attributes:
        name: The route name: the ``route`` of faults and records, the key of the counters.
        method: The HTTP method (no ``HEAD`` is added for a ``GET``).
        paths: aiohttp path patterns; every path is the same route.
        summary: One line for the routes document.
        auth: Who may call it.
        api_versions: The accepted ``api-version`` query values, checked after authentication and
            faults, before the handler; empty when the route takes no ``api-version``.
        path_versions: Versions named by the path itself (``v3.1``), for the routes document.
        refusals: The body shape of authentication refusals and rate limits.
    """

    name: str
    method: str
    paths: tuple[str, ...]
    summary: str
    auth: AuthPolicy = AuthPolicy.KEY_OR_TOKEN
    api_versions: tuple[str, ...] = ()
    path_versions: tuple[str, ...] = ()
    refusals: Refusals = Refusals.GATEWAY

    def __post_init__(self) -> None:
        if not self.name or self.name == ANY_ROUTE:
            raise ValueError(f"a route needs a name other than {ANY_ROUTE!r}")
        if not self.paths or any(not path.startswith("/") or path.startswith(ADMIN_PREFIX) for path in self.paths):
            raise ValueError(f"route {self.name!r}: paths must start with '/' and not be under /_emulator/")


@dataclass(frozen=True)
class Route:
    """A spec with the handler that answers it."""

    spec: RouteSpec
    handler: Handler


class RouteTable:
    """One area's routes, in the order they were declared (an aiohttp ``RouteTableDef`` with specs)."""

    def __init__(self, area: str) -> None:
        self.area = area
        self._routes: list[Route] = []

    def add(self, spec: RouteSpec, handler: Handler) -> None:
        """Register ``handler`` for ``spec``; a name already in this table raises ``ValueError``."""
        if any(route.spec.name == spec.name for route in self._routes):
            raise ValueError(f"route {spec.name!r} is declared twice in area {self.area!r}")
        self._routes.append(Route(spec, handler))

    def __iter__(self) -> Iterator[Route]:
        return iter(tuple(self._routes))


def service_route(table: RouteTable, spec: RouteSpec) -> Callable[[_H], _H]:
    """Decorator: register the decorated handler in ``table`` under ``spec``."""

    def register(handler: _H) -> _H:
        table.add(spec, handler)
        return handler

    return register


@functools.cache
def area_tables() -> tuple[RouteTable, ...]:
    """Every area's table, imported on first use (areas import the shared modules, never the reverse)."""
    from ._resources.batch.routes import ROUTES as batch
    from ._resources.fast.routes import ROUTES as fast
    from ._resources.health.routes import ROUTES as health
    from ._resources.short_audio.routes import ROUTES as short_audio
    from ._resources.sts.routes import ROUTES as sts
    from ._resources.webhooks.routes import ROUTES as webhooks

    return (fast, short_audio, sts, batch, webhooks, health)


@functools.cache
def route_specs() -> tuple[RouteSpec, ...]:
    """Every service route's spec, area by area; raises ``ValueError`` when two share a name."""
    specs = tuple(route.spec for table in area_tables() for route in table)
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"route names must be unique: {', '.join(duplicates)}")
    return specs


def spec_named(name: str) -> RouteSpec | None:
    """The spec of route ``name``, or ``None``."""
    return next((spec for spec in route_specs() if spec.name == name), None)


def fault_routes() -> tuple[str, ...]:
    """The route names a fault can target (every service route), sorted."""
    return tuple(sorted(spec.name for spec in route_specs()))


def _admin_counted() -> tuple[str, ...]:
    # Imported here: _admin imports _faults, which validates route names with this module.
    from ._admin import ADMIN_ROUTES

    return tuple(route.counted for route in ADMIN_ROUTES if route.counted is not None)


def counted_routes() -> tuple[str, ...]:
    """The keys of ``Emulator.counters``: every service route plus the counted admin routes, sorted.

    Raises ``ValueError`` when an admin route's counter has a service route's name.
    """
    service = fault_routes()
    admin = _admin_counted()
    clashes = sorted(set(service) & set(admin))
    if clashes:
        raise ValueError(f"admin counters must not share a service route's name: {', '.join(clashes)}")
    return tuple(sorted((*service, *admin)))


def _versions(spec: RouteSpec) -> str:
    if spec.api_versions:
        return "`api-version` " + ", ".join(f"`{version}`" for version in spec.api_versions)
    if spec.path_versions:
        return "in the path: " + ", ".join(f"`{version}`" for version in spec.path_versions)
    return "none"


def routes_markdown() -> str:
    """``docs/emulator-routes.md``: a table of every service route, generated from the registry."""
    lines = [
        "# Emulator routes",
        "",
        "<!-- Generated by `python -m speech_async.emulator._routes_doc --write`; do not edit by hand."
        " tests/emulator/test_routes.py checks that it is current. -->",
        "",
        "Every service route of the emulator, from its route registry (`speech_async/emulator/_routes.py`)."
        " The name is what faults target (`Fault(route=...)`, `--fault-route`), what `Emulator.counters`"
        " counts and what `RecordedRequest.route` records. A request to any other path is answered"
        ' 404 `{"error": {"code": "404", "message": "Resource not found"}}` once it is authenticated'
        " (a key-less one is a 401 first).",
        "",
        "| name | area | method | paths | auth | versions | refusals | summary |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for table in area_tables():
        for route in table:
            spec = route.spec
            paths = "<br>".join(f"`{path}`" for path in spec.paths)
            cells = (
                f"`{spec.name}`",
                table.area,
                spec.method,
                paths,
                spec.auth.value,
                _versions(spec),
                spec.refusals.value,
                spec.summary,
            )
            lines.append(_row(cells))
    lines += [
        "",
        "## Admin routes",
        "",
        "Under `/_emulator/`: no key, no faults, not recorded; JSON bodies are decoded strictly (an unknown"
        " field is a 400). Only the routes with a counter name are counted.",
        "",
        "| method | path | counter | summary |",
        "|---|---|---|---|",
    ]
    from ._admin import ADMIN_PREFIX, ADMIN_ROUTES

    for admin in ADMIN_ROUTES:
        counted = "" if admin.counted is None else f"`{admin.counted}`"
        lines.append(_row((admin.method, f"`{ADMIN_PREFIX}{admin.path}`", counted, admin.summary)))
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
