"""The route registry: one spec per served route, unique names, and every list derived from it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from aiohttp import web

from speech_async.emulator import ALL_FAULT_KINDS, EmulatorConfig, Fault, FaultPlan, create_app
from speech_async.emulator._admin import ADMIN_PREFIX, ADMIN_ROUTES
from speech_async.emulator._cli import _parser
from speech_async.emulator._routes import (
    ANY_ROUTE,
    ROUTES_DOC,
    AuthPolicy,
    Refusals,
    RouteSpec,
    RouteTable,
    area_tables,
    counted_routes,
    fault_routes,
    route_specs,
    routes_markdown,
    service_route,
    spec_named,
)
from speech_async.emulator._state import emulator_state

# The route names of 0.1: public values (fault targets, counters, records, --fault-route) that must keep working.
NAMES_OF_0_1 = ("issue_token", "locales", "short_audio", "transcribe")


def _app() -> web.Application:
    return create_app(EmulatorConfig(recognizer="scripted"))


def _path(route: web.AbstractRoute) -> str:
    assert route.resource is not None
    return route.resource.canonical


def test_every_served_route_has_a_spec() -> None:
    app = _app()
    state = emulator_state(app)
    service = [route for route in app.router.routes() if not _path(route).startswith(ADMIN_PREFIX)]
    assert service, "no service routes served"
    unspecified = [f"{r.method} {_path(r)}" for r in service if r not in state.route_specs]
    assert unspecified == []
    served = {(route.method, _path(route)) for route in service}
    declared = {
        (spec.method, path.replace(":conversation|interactive|dictation", ""))
        for spec in route_specs()
        for path in spec.paths
    }
    assert served == declared


def test_aiohttp_route_names_of_0_1_still_resolve() -> None:
    router = _app().router
    assert router["transcribe"].canonical == "/speechtotext/transcriptions:transcribe"
    assert router["locales"].canonical == "/speechtotext/transcriptions/locales"
    assert router["issue_token"].canonical == "/sts/v1.0/issueToken"
    assert router["short_audio"].canonical == "/speech/recognition/{mode}/cognitiveservices/v1"
    assert router["entra_token"].canonical == "/_emulator/entra/token"
    assert router["health_status"].canonical == "/speechtotext/v3.1/healthstatus"


def test_admin_routes_come_from_their_table() -> None:
    app = _app()
    admin = sorted(
        (route.method, _path(route)) for route in app.router.routes() if _path(route).startswith(ADMIN_PREFIX)
    )
    assert admin == sorted((route.method, ADMIN_PREFIX + route.path) for route in ADMIN_ROUTES)
    assert len(set(admin)) == len(admin)


def test_route_names_are_unique_and_keep_the_names_of_0_1() -> None:
    names = [spec.name for spec in route_specs()]
    assert len(names) == len(set(names))
    assert set(NAMES_OF_0_1) <= set(names)
    assert {"locales_v3", "health_status"} <= set(names)
    assert ANY_ROUTE not in names
    assert all(spec_named(name) is not None for name in names)
    assert spec_named("nope") is None


def test_the_derived_lists() -> None:
    names = sorted(spec.name for spec in route_specs())
    assert list(fault_routes()) == names
    assert list(counted_routes()) == sorted([*names, "entra_token"])
    assert list(emulator_state(_app()).counters) == list(counted_routes())
    fault_route = next(action for action in _parser()._actions if action.dest == "fault_route")
    assert list(fault_route.choices or ()) == [*names, ANY_ROUTE]
    for name in names:
        Fault(route=name, status=500)  # every route can be targeted
        FaultPlan().random(rate=0.5, faults=ALL_FAULT_KINDS, route=name)
    with pytest.raises(ValueError, match="unknown route 'nope'; faults can target 'health_status'"):
        Fault(route="nope", status=500)


def test_auth_policies_of_the_routes() -> None:
    policies = {spec.name: spec.auth for spec in route_specs()}
    assert policies["issue_token"] is AuthPolicy.KEY_ONLY
    assert policies["short_audio"] is AuthPolicy.SHORT_AUDIO
    assert {policies[name] for name in ("transcribe", "locales", "locales_v3", "health_status")} == {
        AuthPolicy.KEY_OR_TOKEN
    }
    versioned = {spec.name: spec.api_versions for spec in route_specs() if spec.api_versions}
    dated = ("2024-11-15", "2025-10-15")
    batch = ("submit", "list", "get", "update", "delete", "files", "file")
    hooks = ("list", "create", "get", "update", "delete", "ping", "test")
    assert versioned == (
        {"transcribe": dated, "locales": dated}
        | {f"transcriptions_{op}": dated for op in batch}
        | {f"webhooks_{op}": dated for op in hooks}
    )
    # The v3.x batch routes are versioned by their paths, their content URLs by a SAS.
    assert {spec.name for spec in route_specs() if spec.path_versions and spec.name.startswith("transcriptions")} == {
        f"transcriptions_{op}_v3" for op in ("create", *batch[1:])
    }
    assert policies["transcription_file_content"] is AuthPolicy.SAS
    assert {spec.name for spec in route_specs() if spec.path_versions and spec.name.startswith("webhooks")} == {
        f"webhooks_{op}_v3" for op in hooks
    }
    assert {policies[f"webhooks_{op}{family}"] for op in hooks for family in ("", "_v3")} == {AuthPolicy.KEY_OR_TOKEN}
    assert {spec.refusals for spec in route_specs() if spec.name.startswith("webhooks")} == {Refusals.MANAGEMENT}


def test_a_table_refuses_a_second_route_of_the_same_name() -> None:
    table = RouteTable("test")
    spec = RouteSpec(name="thing", method="GET", paths=("/thing",), summary="a thing")

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response()

    assert service_route(table, spec)(handler) is handler
    assert [route.spec for route in table] == [spec]
    with pytest.raises(ValueError, match="declared twice"):
        service_route(table, spec)(handler)
    assert table not in area_tables()


@pytest.mark.parametrize(
    ("name", "paths"),
    [("", ("/x",)), ("*", ("/x",)), ("x", ()), ("x", ("x",)), ("x", ("/_emulator/x",))],
    ids=["no-name", "any-route", "no-paths", "relative", "admin-path"],
)
def test_specs_are_validated(name: str, paths: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="route"):
        RouteSpec(name=name, method="GET", paths=paths, summary="")


def test_routes_doc_is_current() -> None:
    text = routes_markdown()
    assert ROUTES_DOC.read_text(encoding="utf-8") == text, (
        "docs/emulator-routes.md is stale: run python -m speech_async.emulator._routes_doc --write"
    )
    for spec in route_specs():
        assert f"| `{spec.name}` |" in text
        for path in spec.paths:
            assert f"`{path.replace('|', chr(92) + '|')}`" in text
    for route in ADMIN_ROUTES:
        assert f"`{ADMIN_PREFIX}{route.path}`" in text


def test_routes_doc_check_command() -> None:
    command = [sys.executable, "-m", "speech_async.emulator._routes_doc", "--check"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (0, "")
    printed = subprocess.run(command[:-1], capture_output=True, text=True, timeout=60, check=False)
    assert printed.stdout == routes_markdown()
