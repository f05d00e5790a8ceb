"""Batch transcription routes, for v3.1, v3.2, 2024-11-15 and 2025-10-15.

Two route families with the same handlers: the api-version family (``/speechtotext/transcriptions...``
with ``?api-version=2024-11-15|2025-10-15``) and the path-versioned v3.x family
(``/speechtotext/v3.{1,2}/transcriptions...``, names ending in ``_v3``, as ``locales_v3``). Operations
and statuses: addendum §3.2 (create 201 + ``Location``, delete 204 "successfully deleted or did not
exist", ``Retry-After`` on the GETs and the PATCH of a job that is not finished). Result files are
served at SAS-style URLs that need no credential header (``transcription_file_content``).

``Transcriptions_ListSupportedLocales`` v3.x (``locales_v3``) answers a JSON array of locales
(``["en-US", ...]``); its api-version form is the ``locales`` route of the fast area.
"""

from __future__ import annotations

import hmac
import math
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

import msgspec
from aiohttp import web

from ..._lifecycle import FAILED, SUCCEEDED
from ..._locales import SUBMIT_LOCALES
from ..._replies import json_response
from ..._routes import AuthPolicy, Refusals, RouteSpec, RouteTable, service_route
from ..._state import EXCHANGE, STATE
from .._management import int_query, read_json
from .._management import management_spec as _spec
from .._management import request_origin as _origin
from .._management import request_version as _version
from .backend import sas_signature
from .errors import (
    blob_error,
    cross_version,
    not_found,
    unsupported_media_type,
)
from .filters import parse_filter
from .request import V3_VERSIONS, VERSIONS, check_update, is_v3, parse_submission
from .results import iso_datetime
from .wire import encode, file_body, transcription_body, version_base

if TYPE_CHECKING:
    from ..._state import EmulatorState
    from .backend import BatchBackend, Job, ResultFile

__all__ = ("CONTENT_PATH", "ROUTES", "V3_VERSIONS")

ROUTES: Final = RouteTable("batch")

# Where result files are served; the emulator's stand-in for the service's blob storage.
CONTENT_PATH: Final = "/speechtotext-artifacts/{id}/{fileId}"
# unverified: the default page size (the base-model list returns 100 by default) and the largest top.
_DEFAULT_TOP: Final = 100
_MAX_TOP: Final = 100
_MAX_BODY: Final = 16 * 1024 * 1024
_TRANSCRIPTION_FILTER: Final = frozenset({"displayName", "description", "status", "locale"})
_FILE_FILTER: Final = frozenset({"name", "kind"})
_DATES: Final = frozenset({"createdDateTime", "lastActionDateTime"})
_FILE_DATES: Final = frozenset({"createdDateTime"})
_SAS_VERSION: Final = "2026-06-06"


# --- helpers ------------------------------------------------------------------------------------------


def _backend(request: web.Request) -> BatchBackend:
    return request.app[STATE].batch


def _readable(job: Job, version: str) -> bool:
    # unverified beyond v3.2 vs v3.0/v3.1 (the migration guide): a job cannot be read with an older version.
    return VERSIONS.index(version) >= VERSIONS.index(job.submission.version)


async def _job(request: web.Request, version: str) -> Job:
    job_id = request.match_info["id"]
    job = await _backend(request).get(job_id)
    if job is None:
        raise not_found("transcription", job_id)
    if not _readable(job, version):
        raise cross_version(job.submission.version)
    return job


def _shown(request: web.Request, job: Job, version: str) -> dict[str, Any]:
    status = _backend(request).status(job)
    last_action = job.lifecycle.since()
    return transcription_body(job, status=status, last_action=last_action, origin=_origin(request), version=version)


def _retry_after(request: web.Request, jobs: list[Job]) -> dict[str, str]:
    backend = _backend(request)
    waits = [job.lifecycle.retry_after() or 1 for job in jobs if backend.status(job) not in (SUCCEEDED, FAILED)]
    # Declared on the GETs and the PATCH: "minimum number of seconds to wait for a non terminal operation".
    return {"Retry-After": str(min(waits))} if waits else {}


def _next_link(request: web.Request, version: str, path: str, skip: int, top: int, extra: dict[str, str]) -> str:
    # Published next links repeat skip and top, keep filter and put api-version last (addendum §3.4).
    query: dict[str, str] = {"skip": str(skip), "top": str(top), **extra}
    if not is_v3(version):
        query["api-version"] = version
    return f"{version_base(_origin(request), version)}/{path}?{urlencode(query, quote_via=quote)}"


def _page(
    request: web.Request, version: str, path: str, items: list[dict[str, Any]], extra: dict[str, str]
) -> tuple[list[dict[str, Any]], str | None]:
    skip = int_query(request, "skip", 0, low=0, high=None)
    top = int_query(request, "top", _DEFAULT_TOP, low=1, high=_MAX_TOP)
    page = items[skip : skip + top]
    more = skip + top < len(items)
    return page, (_next_link(request, version, path, skip + top, top, extra) if more else None)


def _page_body(values: list[dict[str, Any]], next_link: str | None) -> bytes:
    # unverified: the last page's @nextLink is written as null ("otherwise null" in the spec) rather than left out.
    return encode({"values": values, "@nextLink": next_link})


def _sas_seconds(request: web.Request, version: str) -> float:
    state = request.app[STATE]
    if is_v3(version):
        seconds = int_query(request, "sasValidityInSeconds", -1, low=0, high=None)
        return state.config.batch.sas_seconds if seconds <= 0 else float(seconds)
    minutes = int_query(request, "sasLifetimeMinutes", -1, low=0, high=None)
    return state.config.batch.sas_seconds if minutes <= 0 else minutes * 60.0


def _content_url(request: web.Request, job: Job, file: ResultFile, lifetime: float) -> str:
    if file.external_url is not None:
        # Digest §2: transcriptions using destinationContainerUrl return URLs without SAS.
        return file.external_url
    state = request.app[STATE]
    now = state.config.clock()
    path = CONTENT_PATH.format(id=job.id, fileId=file.id)
    start = iso_datetime(now)
    expiry = iso_datetime(math.ceil(now + lifetime))
    sig = sas_signature(state.batch.sas_secret, path, expiry)
    # The shape of a blob SAS (st, se, sp, sv, sr, sig), as in the published file examples.
    query = urlencode(
        {"st": start, "se": expiry, "sp": "r", "sv": _SAS_VERSION, "sr": "b", "sig": sig}, quote_via=quote
    )
    return f"{_origin(request)}{path}?{query}"


def _filter_values(request: web.Request, job: Job, shown: dict[str, Any]) -> dict[str, str | float]:
    values: dict[str, str | float] = {
        "displayName": job.display_name,
        "status": shown["status"],
        "locale": job.submission.locale,
        "createdDateTime": float(int(job.created)),
        "lastActionDateTime": float(int(job.lifecycle.since())),
    }
    if job.description is not None:
        values["description"] = job.description
    return values


# --- transcriptions ----------------------------------------------------------------------------------


async def _submit(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    submission = parse_submission(await read_json(request, max_bytes=_MAX_BODY), version)
    job = _backend(request).create(submission)
    body = _shown(request, job, version)
    headers = {"Location": body["self"], **_retry_after(request, [job])}
    return json_response(201, encode(body), headers=headers)


async def _get(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    job = await _job(request, version)
    return json_response(200, encode(_shown(request, job, version)), headers=_retry_after(request, [job]))


async def _list(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    text = request.query.get("filter")
    predicate = parse_filter(text, strings=_TRANSCRIPTION_FILTER, dates=_DATES)
    jobs = [job for job in await _backend(request).all() if _readable(job, version)]
    shown: list[tuple[Job, dict[str, Any]]] = [(job, _shown(request, job, version)) for job in jobs]
    if predicate is not None:
        shown = [(job, body) for job, body in shown if predicate(_filter_values(request, job, body))]
    extra = {} if text is None else {"filter": text}
    values, next_link = _page(request, version, "transcriptions", [body for _, body in shown], extra)
    page_jobs = [job for job, body in shown if body in values]
    return json_response(200, _page_body(values, next_link), headers=_retry_after(request, page_jobs))


async def _update(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    content_type = request.content_type
    if content_type not in ("application/json", "application/merge-patch+json"):
        raise unsupported_media_type(content_type)
    job = await _job(request, version)
    changes = check_update(await read_json(request, max_bytes=_MAX_BODY), version)
    if "displayName" in changes:
        job.display_name = changes["displayName"]
    if "description" in changes:
        job.description = changes["description"]
    if "customProperties" in changes:
        job.custom_properties = changes["customProperties"]
    if "project" in changes:
        job.project = changes["project"]
    return json_response(200, encode(_shown(request, job, version)), headers=_retry_after(request, [job]))


async def _delete(request: web.Request) -> web.StreamResponse:
    # 204 "successfully deleted or did not exist"; unverified: an unfinished job may be deleted too
    # (v3.0 once answered DeleteNotAllowed).
    _backend(request).delete(request.match_info["id"])
    return web.Response(status=204)


# --- files -------------------------------------------------------------------------------------------


def _files_of(job: Job, status: str) -> list[ResultFile]:
    # unverified: no files are listed before the job ends; a Failed job lists its report.
    return job.files if status in (SUCCEEDED, FAILED) else []


def _file_values(file: ResultFile) -> dict[str, str | float]:
    return {"name": file.name, "kind": file.kind, "createdDateTime": float(int(file.created))}


async def _files(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    job = await _job(request, version)
    lifetime = _sas_seconds(request, version)
    text = request.query.get("filter")
    predicate = parse_filter(text, strings=_FILE_FILTER, dates=_FILE_DATES)
    files = _files_of(job, _backend(request).status(job))
    if predicate is not None:
        files = [file for file in files if predicate(_file_values(file))]
    origin = _origin(request)
    bodies = [
        file_body(job, file, origin=origin, version=version, content_url=_content_url(request, job, file, lifetime))
        for file in files
    ]
    extra: dict[str, str] = {}
    for name in ("sasValidityInSeconds", "sasLifetimeMinutes", "filter"):
        if name in request.query:
            extra[name] = request.query[name]
    values, next_link = _page(request, version, f"transcriptions/{job.id}/files", bodies, extra)
    return json_response(200, _page_body(values, next_link), headers=_retry_after(request, [job]))


async def _file(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    job = await _job(request, version)
    lifetime = _sas_seconds(request, version)
    file_id = request.match_info["fileId"]
    files = _files_of(job, _backend(request).status(job))
    file = next((f for f in files if f.id == file_id), None)
    if file is None:
        raise not_found("file", file_id)
    body = file_body(
        job, file, origin=_origin(request), version=version, content_url=_content_url(request, job, file, lifetime)
    )
    # The spec declares no Retry-After on Transcriptions_GetFile.
    return json_response(200, encode(body))


def _find_file(state: EmulatorState, job_id: str, file_id: str) -> ResultFile | None:
    job = state.batch.jobs.get(job_id)
    if job is None:
        return None
    return next((f for f in job.files if f.id == file_id), None)


async def _content(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    exchange = request[EXCHANGE]
    now = state.config.clock()
    path = request.path
    expiry = request.query.get("se", "")
    signature = request.query.get("sig", "")
    expected = sas_signature(state.batch.sas_secret, path, expiry)
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
        # unverified: Azure's code for a bad signature (Azurite answers AuthorizationFailure, addendum §2).
        return blob_error(
            403, "AuthenticationFailed", request_id=exchange.request_id, now=now, detail="Signature did not match."
        )
    if expiry <= iso_datetime(now):
        # unverified: Azure's shape for an expired SAS (Azurite: 403 AuthorizationFailure).
        return blob_error(
            403,
            "AuthenticationFailed",
            request_id=exchange.request_id,
            now=now,
            detail=f"Signed expiry time [{expiry}] must be after the current time.",
        )
    state.batch.purge()
    file = _find_file(state, request.match_info["id"], request.match_info["fileId"])
    if file is None:
        return blob_error(404, "BlobNotFound", request_id=exchange.request_id, now=now)
    # unverified: the headers beyond Content-Type (Blob storage adds ETag, Last-Modified, x-ms-blob-type ...).
    return web.Response(
        status=200, body=file.data, content_type="application/json", headers={"x-ms-blob-type": "BlockBlob"}
    )


# --- locales (v3.x) -----------------------------------------------------------------------------------


@service_route(
    ROUTES,
    RouteSpec(
        name="locales_v3",
        method="GET",
        paths=tuple(f"/speechtotext/{version}/transcriptions/locales" for version in V3_VERSIONS),
        summary="Supported locales of batch transcription, a JSON array (Transcriptions_ListSupportedLocales, v3.x)",
        path_versions=V3_VERSIONS,
        # The v3.x spec declares a key or an issueToken token (scope speechservicesmanagement); unverified:
        # Entra tokens are taken too, as on fast transcription.
        auth=AuthPolicy.KEY_OR_TOKEN,
        # unverified: refusals come in the management API's Error shape (published v3.0 examples).
        refusals=Refusals.MANAGEMENT,
    ),
)
async def _locales_v3(request: web.Request) -> web.StreamResponse:
    # unverified: the content type and framing (chunked, like the service's other JSON answers).
    return json_response(200, msgspec.json.encode(list(SUBMIT_LOCALES)))


# --- the table ----------------------------------------------------------------------------------------

_OPERATIONS: Final = (
    (
        "transcriptions_submit",
        "POST",
        "/transcriptions:submit",
        "Submit a transcription job (Transcriptions_Submit)",
        _submit,
    ),
    (
        "transcriptions_list",
        "GET",
        "/transcriptions",
        "List transcriptions: skip, top, filter (Transcriptions_List)",
        _list,
    ),
    ("transcriptions_get", "GET", "/transcriptions/{id}", "One transcription (Transcriptions_Get)", _get),
    (
        "transcriptions_update",
        "PATCH",
        "/transcriptions/{id}",
        "Update a transcription (Transcriptions_Update)",
        _update,
    ),
    (
        "transcriptions_delete",
        "DELETE",
        "/transcriptions/{id}",
        "Delete a transcription, 204 (Transcriptions_Delete)",
        _delete,
    ),
    (
        "transcriptions_files",
        "GET",
        "/transcriptions/{id}/files",
        "Result files of a transcription (Transcriptions_ListFiles)",
        _files,
    ),
    (
        "transcriptions_file",
        "GET",
        "/transcriptions/{id}/files/{fileId}",
        "One result file (Transcriptions_GetFile)",
        _file,
    ),
)

for _name, _method, _path, _summary, _handler in _OPERATIONS:
    if _name == "transcriptions_submit":
        service_route(ROUTES, _spec(_name, _method, _path, _summary, v3=False))(_handler)
        service_route(
            ROUTES,
            _spec(
                "transcriptions_create",
                "POST",
                "/transcriptions",
                "Create a transcription job (Transcriptions_Create)",
                v3=True,
            ),
        )(_handler)
        continue
    service_route(ROUTES, _spec(_name, _method, _path, _summary, v3=False))(_handler)
    service_route(ROUTES, _spec(_name, _method, _path, _summary, v3=True))(_handler)

service_route(
    ROUTES,
    RouteSpec(
        name="transcription_file_content",
        method="GET",
        paths=(CONTENT_PATH,),
        summary="A result file's content at its SAS URL (no credential header; an expired `se` is a 403 in Blob XML)",
        auth=AuthPolicy.SAS,
    ),
)(_content)
