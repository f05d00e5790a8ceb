"""Batch transcription jobs: submit (with an awaitable poller), get, update, delete, list, and their files.

Every argument is checked before anything is sent. A submit is never sent twice by a retry: it goes
out once per attempt with ``idempotent=False``, tagged with a unique ``customProperties`` entry
(:data:`SUBMIT_TAG`); when its outcome is unknown (the connection broke after the request went out, a
5xx, a garbled 201), the client lists the jobs and takes the one with its tag, and sends again only
when no such job exists.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final

import msgspec
from yarl import URL

from ..._bodies import JSON_CONTENT_TYPE, JsonBody
from ..._exceptions import (
    InvalidOptionsError,
    ResponseDecodeError,
    TranscriptionFailedError,
    TranscriptionTimeoutError,
)
from ..._headers import parse_retry_after, redact_url
from ..._http import json_decoder
from ..._models._batch import (
    BatchDiarization,
    EntityReference,
    LanguageIdentification,
    PunctuationMode,
    Transcription,
    TranscriptionFile,
    TranscriptionStatus,
)
from ..._models._fast import ProfanityFilterMode
from ..._paging import AsyncPager, check_same_origin
from ..._polling import DEFAULT_POLL_INTERVAL, AsyncPoller, PollInterval, coerce_poll_interval
from ..._resource import CREATE_TAG, AsyncResource, add_create_tag
from ..._urls import is_loopback
from ..._versions import check_management_version, management_url
from .._management import MAX_CUSTOM_PROPERTIES, check_custom_properties, check_text, list_query
from . import _versions

if TYPE_CHECKING:
    from ..._config import ApiVersion, RetryPolicy, Timeouts
    from ..._context import CallOptions
    from ..._http import Response

__all__ = [
    "MAX_CONTENT_URLS",
    "MAX_CUSTOM_PROPERTIES",
    "SUBMIT_TAG",
    "TranscriptionOperations",
    "TranscriptionPoller",
]

MAX_CONTENT_URLS: Final = 1000
# unverified: that the service accepts a dot in a customProperties key (the spec sets only lengths).
SUBMIT_TAG: Final = CREATE_TAG
"""The ``customProperties`` key each submit carries (a fresh UUID), so that a submit whose answer was
lost is found again instead of being sent twice. It takes one of the ten entries; with ten of your own,
no tag is added and a lost answer raises instead."""

_LOCALE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}")
_TOKEN_VERSION: Final = 1
_TRANSCRIPTION: Final = json_decoder(msgspec.json.Decoder(Transcription), "the transcription")
_FILE: Final = json_decoder(msgspec.json.Decoder(TranscriptionFile), "the transcription file")
_MAX_CONTINUOUS_CANDIDATES: Final = 10
_MIN_CANDIDATES: Final = 2
_TOKEN_PREFIX: Final = "speech_async.batch:"


class TranscriptionPoller(AsyncPoller[Transcription]):
    """A submitted batch transcription: ``await poller`` gives the :class:`Transcription` once it has
    ``Succeeded``, and raises :class:`TranscriptionFailedError` when it ends ``Failed``."""

    @property
    def transcription(self) -> Transcription:
        """The job as last seen."""
        return self.latest

    @property
    def id(self) -> str | None:
        """The job's id."""
        return self.latest.id

    def __repr__(self) -> str:
        return f"TranscriptionPoller(id={self.id!r}, status={self.status!r})"


class TranscriptionOperations(AsyncResource):
    """Batch transcription jobs (``client.batch``)."""

    async def begin_transcription(
        self,
        *,
        content_urls: Sequence[str] | None = None,
        content_container_url: str | None = None,
        dataset: str | EntityReference | None = None,
        locale: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        model: str | EntityReference | None = None,
        word_level_timestamps: bool | None = None,
        display_form_word_level_timestamps: bool | None = None,
        channels: Sequence[int] | None = None,
        punctuation_mode: PunctuationMode | str | None = None,
        profanity_filter_mode: ProfanityFilterMode | str | None = None,
        diarization: BatchDiarization | bool | None = None,
        language_identification: LanguageIdentification | Sequence[str] | None = None,
        destination_container_url: str | None = None,
        time_to_live: timedelta | None = None,
        custom_properties: Mapping[str, str] | None = None,
        extra_properties: Mapping[str, object] | None = None,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
        poll_interval: PollInterval | float = DEFAULT_POLL_INTERVAL,
        deadline: timedelta | float | None = None,
        continuation_token: str | None = None,
    ) -> TranscriptionPoller:
        """Submit a batch transcription and return its poller (``await`` the poller for the result).

        ``POST /speechtotext/transcriptions:submit`` (2024-11-15 and later) or ``POST .../v3.x/transcriptions``:
        the same arguments for every version. The audio is exactly one of ``content_urls`` (up to 1,000
        URLs the service can read: public, or with a SAS), ``content_container_url`` (a container SAS
        with read and list permissions) or ``dataset``.

        With ``continuation_token`` (a poller's :attr:`~TranscriptionPoller.continuation_token`), nothing
        is submitted: the poller of that job is returned, in this process or another; the job's own
        arguments must then be left out.

        Args:
            locale: The audio's locale (BCP-47, ``en-US``); the fallback with language identification.
            display_name: The job's name.
            model: A model's URL (or reference); the latest base model of the locale when left out.
            diarization: ``True`` or a :class:`BatchDiarization` to label speakers.
            language_identification: A :class:`LanguageIdentification`, or just the candidate locales.
            time_to_live: How long the job and its files are kept after it ends; 2024-11-15 and later
                require it (6 h to 31 days, whole hours) and get 48 h when it is left out; v3.x keeps
                them until deleted.
            custom_properties: Up to 10 string pairs (key ≤ 64, value ≤ 256 characters); one slot is
                used by the submit tag (:data:`SUBMIT_TAG`) when free.
            extra_properties: More ``properties`` members, sent as they are (for settings this client
                does not know yet); one that a keyword already sets is refused.
            poll_interval: How often the poller asks (:class:`PollInterval`, or fixed seconds).
            deadline: How long ``await poller`` waits before raising :class:`TranscriptionTimeoutError`
                (``None``: no limit; the job goes on regardless).

        Raises:
            InvalidOptionsError: an argument is invalid (nothing was sent).
            UntrustedLinkError: the continuation token names another host than the endpoint.
            SpeechStatusError, SpeechConnectionError, ResponseDecodeError: the submit failed.
        """
        call = self._call_options(retry, timeout)
        interval = _poll_interval(poll_interval)
        limit = _deadline(deadline)
        version = self._batch_version(api_version)
        if continuation_token is not None:
            given = [
                name
                for name, value in (
                    ("content_urls", content_urls),
                    ("content_container_url", content_container_url),
                    ("dataset", dataset),
                    ("locale", locale),
                    ("display_name", display_name),
                    ("description", description),
                    ("model", model),
                    ("custom_properties", custom_properties),
                    ("extra_properties", extra_properties),
                )
                if value is not None
            ]
            if given:
                raise InvalidOptionsError(
                    f"continuation_token resumes a submitted job, so {', '.join(given)} cannot be given with it"
                )
            return await self._resume(continuation_token, call, interval, limit)
        body, tag = self._submit_body(
            version=version,
            content_urls=content_urls,
            content_container_url=content_container_url,
            dataset=dataset,
            locale=locale,
            display_name=display_name,
            description=description,
            model=model,
            word_level_timestamps=word_level_timestamps,
            display_form_word_level_timestamps=display_form_word_level_timestamps,
            channels=channels,
            punctuation_mode=punctuation_mode,
            profanity_filter_mode=profanity_filter_mode,
            diarization=diarization,
            language_identification=language_identification,
            destination_container_url=destination_container_url,
            time_to_live=time_to_live,
            custom_properties=custom_properties,
            extra_properties=extra_properties,
        )
        created = await self._create_once(
            management_url(self._ctx.endpoint, version, _versions.submit_path(version)),
            body,
            decode=_TRANSCRIPTION,
            item=Transcription,
            collection=management_url(self._ctx.endpoint, version, "transcriptions"),
            tag=tag,
            display_name=display_name or "",
            call=call,
            what="the list of transcriptions",
        )
        return self._poller(created, version, call, interval, limit)

    async def get_transcription(
        self,
        transcription_id: str,
        *,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> Transcription:
        """A transcription job (``GET /transcriptions/{id}``).

        Raises:
            InvalidOptionsError: the id is not an id (nothing was sent).
            NotFoundError: no such job.
        """
        call = self._call_options(retry, timeout)
        version = self._batch_version(api_version)
        path = f"transcriptions/{_check_id(transcription_id)}"
        return await self._get(management_url(self._ctx.endpoint, version, path), call)

    async def update_transcription(
        self,
        transcription_id: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        custom_properties: Mapping[str, str] | None = None,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> Transcription:
        """Change a job's name, description or custom properties (``PATCH /transcriptions/{id}``).

        Only what is given is sent; ``custom_properties`` replaces the whole map (the submit tag too).

        Raises:
            InvalidOptionsError: nothing to change, or an invalid value (nothing was sent).
        """
        call = self._call_options(retry, timeout)
        version = self._batch_version(api_version)
        path = f"transcriptions/{_check_id(transcription_id)}"
        patch: dict[str, object] = {}
        if display_name is not None:
            patch["displayName"] = check_text(display_name, "display_name")
        if description is not None:
            patch["description"] = check_text(description, "description", empty=True)
        if custom_properties is not None:
            patch["customProperties"] = check_custom_properties(custom_properties, MAX_CUSTOM_PROPERTIES)
        if not patch:
            raise InvalidOptionsError("update_transcription needs display_name, description or custom_properties")
        return await self._request(
            "PATCH",
            management_url(self._ctx.endpoint, version, path),
            headers={"Accept": JSON_CONTENT_TYPE},
            body=JsonBody(patch),
            decode=_TRANSCRIPTION,
            idempotent=True,
            call=call,
        )

    async def delete_transcription(
        self,
        transcription_id: str,
        *,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> None:
        """Delete a job and its files (``DELETE /transcriptions/{id}``); a job that does not exist is no error."""
        call = self._call_options(retry, timeout)
        version = self._batch_version(api_version)
        path = f"transcriptions/{_check_id(transcription_id)}"
        await self._delete(management_url(self._ctx.endpoint, version, path), call)

    def list_transcriptions(
        self,
        *,
        filter: str | None = None,
        skip: int | None = None,
        top: int | None = None,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> AsyncPager[Transcription]:
        """The jobs, as a pager (``async for t in client.batch.list_transcriptions()``); nothing is sent yet.

        ``filter`` is the service's OData-like filter (``status eq 'Running'``); ``skip`` and ``top``
        page on the service's side (the pager follows every next page anyway).
        """
        call = self._call_options(retry, timeout)
        version = self._batch_version(api_version)
        query = list_query(filter, skip, top)
        url = management_url(self._ctx.endpoint, version, "transcriptions", query)
        return self._list(url, item=Transcription, call=call, what="the list of transcriptions")

    def list_files(
        self,
        transcription_id: str,
        *,
        filter: str | None = None,
        skip: int | None = None,
        top: int | None = None,
        sas_lifetime: timedelta | None = None,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> AsyncPager[TranscriptionFile]:
        """A job's files (results and ``report.json``), as a pager; nothing is sent yet.

        ``sas_lifetime`` sets how long the files' ``content_url`` stays valid (the service's default: 12 h).
        """
        call = self._call_options(retry, timeout)
        version = self._batch_version(api_version)
        path = f"transcriptions/{_check_id(transcription_id)}/files"
        query = {
            **_versions.files_sas_query(version, _check_timedelta(sas_lifetime, "sas_lifetime")),
            **list_query(filter, skip, top),
        }
        url = management_url(self._ctx.endpoint, version, path, query)
        return self._list(url, item=TranscriptionFile, call=call, what="the list of transcription files")

    async def get_file(
        self,
        transcription_id: str,
        file_id: str,
        *,
        sas_lifetime: timedelta | None = None,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> TranscriptionFile:
        """One file of a job (``GET /transcriptions/{id}/files/{fileId}``)."""
        call = self._call_options(retry, timeout)
        version = self._batch_version(api_version)
        path = f"transcriptions/{_check_id(transcription_id)}/files/{_check_id(file_id, 'file_id')}"
        query = _versions.files_sas_query(version, _check_timedelta(sas_lifetime, "sas_lifetime"))
        return await self._request(
            "GET",
            management_url(self._ctx.endpoint, version, path, query),
            headers={"Accept": JSON_CONTENT_TYPE},
            decode=_FILE,
            idempotent=True,
            call=call,
        )

    # --- the pieces ---------------------------------------------------------------------------------

    def _batch_version(self, api_version: ApiVersion | str | None) -> str:
        if api_version is None:
            return self._ctx.management_api_version
        return check_management_version(api_version)

    async def _get(self, url: URL, call: CallOptions) -> Transcription:
        return await self._request(
            "GET", url, headers={"Accept": JSON_CONTENT_TYPE}, decode=_TRANSCRIPTION, idempotent=True, call=call
        )

    async def _delete(self, url: URL, call: CallOptions) -> None:
        await self._request("DELETE", url, decode=_nothing, idempotent=True, call=call)

    def _submit_body(
        self,
        *,
        version: str,
        content_urls: Sequence[str] | None,
        content_container_url: str | None,
        dataset: str | EntityReference | None,
        locale: str | None,
        display_name: str | None,
        description: str | None,
        model: str | EntityReference | None,
        word_level_timestamps: bool | None,
        display_form_word_level_timestamps: bool | None,
        channels: Sequence[int] | None,
        punctuation_mode: PunctuationMode | str | None,
        profanity_filter_mode: ProfanityFilterMode | str | None,
        diarization: BatchDiarization | bool | None,
        language_identification: LanguageIdentification | Sequence[str] | None,
        destination_container_url: str | None,
        time_to_live: timedelta | None,
        custom_properties: Mapping[str, str] | None,
        extra_properties: Mapping[str, object] | None,
    ) -> tuple[dict[str, object], str | None]:
        sources = [
            name
            for name, value in (
                ("content_urls", content_urls),
                ("content_container_url", content_container_url),
                ("dataset", dataset),
            )
            if value is not None
        ]
        if len(sources) != 1:
            raise InvalidOptionsError(
                "pass exactly one audio source: content_urls, content_container_url or dataset"
                + (f" (got {' and '.join(sources)})" if sources else "")
            )
        if locale is None:
            raise InvalidOptionsError("locale is required, such as locale='en-US'")
        if display_name is None:
            raise InvalidOptionsError("display_name is required: the job's name")
        body: dict[str, object] = {
            "displayName": check_text(display_name, "display_name"),
            "locale": _check_locale(locale),
        }
        if description is not None:
            body["description"] = check_text(description, "description", empty=True)
        if content_urls is not None:
            body["contentUrls"] = _check_content_urls(content_urls)
        if content_container_url is not None:
            _check_audio_url(content_container_url, "content_container_url", needs="rl")
            body["contentContainerUrl"] = content_container_url
        if dataset is not None:
            body["dataset"] = {"self": _reference(dataset, "dataset")}
        if model is not None:
            body["model"] = {"self": _reference(model, "model")}

        properties: dict[str, object] = {}
        for name, wire, value in (
            ("word_level_timestamps", "wordLevelTimestampsEnabled", word_level_timestamps),
            (
                "display_form_word_level_timestamps",
                "displayFormWordLevelTimestampsEnabled",
                display_form_word_level_timestamps,
            ),
        ):
            if value is not None:
                if not isinstance(value, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
                    raise InvalidOptionsError(f"{name} must be True or False, not {value!r}")
                properties[wire] = value
        if channels is not None:
            properties["channels"] = _check_channels(channels)
        if punctuation_mode is not None:
            properties["punctuationMode"] = _check_enum(punctuation_mode, PunctuationMode, "punctuation_mode")
        if profanity_filter_mode is not None:
            properties["profanityFilterMode"] = _check_enum(
                profanity_filter_mode, ProfanityFilterMode, "profanity_filter_mode"
            )
        if diarization is not None and diarization is not False:
            settings = BatchDiarization() if diarization is True else diarization
            if not isinstance(settings, BatchDiarization):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise InvalidOptionsError(
                    f"diarization must be True or a BatchDiarization, not {type(settings).__name__}"
                )
            properties.update(_versions.diarization_fields(version, settings.max_speakers, settings.min_speakers))
        if language_identification is not None:
            properties["languageIdentification"] = _check_lid(language_identification, version)
        if destination_container_url is not None:
            _check_audio_url(destination_container_url, "destination_container_url", needs="w")
            properties["destinationContainerUrl"] = destination_container_url
        properties.update(_versions.time_to_live_fields(version, _check_timedelta(time_to_live, "time_to_live")))
        if extra_properties is not None:
            for key, value in extra_properties.items():
                if not isinstance(key, str):  # pyright: ignore[reportUnnecessaryIsInstance]
                    raise InvalidOptionsError(f"extra_properties keys must be text, not {key!r}")
                if key in properties:
                    raise InvalidOptionsError(
                        f"extra_properties sets {key!r}, which a keyword argument already sets; use one of them"
                    )
                properties[key] = value
        if properties:
            body["properties"] = properties

        own = check_custom_properties(custom_properties or {}, MAX_CUSTOM_PROPERTIES)
        tag = add_create_tag(own, MAX_CUSTOM_PROPERTIES)
        if own:
            body["customProperties"] = own
        JsonBody(body)  # fails now, before anything is sent, on a value extra_properties cannot encode
        return body, tag

    def _poller(
        self, job: Transcription, version: str, call: CallOptions, interval: PollInterval, limit: float | None
    ) -> TranscriptionPoller:
        job_id = job.id
        if job_id is None:
            raise ResponseDecodeError("the transcription has no 'self' URL, so it cannot be polled", body=_body_of(job))
        url = management_url(self._ctx.endpoint, version, f"transcriptions/{_check_id(job_id)}")

        async def refresh() -> tuple[Transcription, float | None]:
            latest = await self._get(url, call)
            return latest, _retry_after(latest)

        async def cancel() -> None:
            await self._delete(url, call)

        token = _TOKEN_PREFIX + base64.urlsafe_b64encode(
            json.dumps({"v": _TOKEN_VERSION, "url": str(url), "id": job_id, "version": version}).encode()
        ).decode("ascii")
        return TranscriptionPoller(
            initial=job,
            refresh=refresh,
            is_done=_is_done,
            status_of=_status_of,
            finish=_finish,
            on_deadline=_on_deadline,
            cancel=cancel,
            continuation_token=token,
            interval=interval,
            deadline=limit,
            retry_after=_retry_after(job),
        )

    async def _resume(
        self, token: str, call: CallOptions, interval: PollInterval, limit: float | None
    ) -> TranscriptionPoller:
        if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOptionsError("continuation_token is not a batch transcription poller's continuation_token")
        try:
            fields = json.loads(base64.urlsafe_b64decode(token[len(_TOKEN_PREFIX) :].encode("ascii")))
            url_text, version = str(fields["url"]), str(fields["version"])
            if fields.get("v") != _TOKEN_VERSION:
                raise ValueError("unknown token version")
        except (binascii.Error, UnicodeError, ValueError, KeyError, TypeError) as err:
            raise InvalidOptionsError(
                "continuation_token is damaged: pass it exactly as poller.continuation_token gave it"
            ) from err
        version = check_management_version(version, what="the continuation token's version")
        url = check_same_origin(url_text, self._ctx.endpoint, what="the continuation token's job URL")
        job = await self._get(url, call)
        return self._poller(job, version, call, interval, limit)


# --- checks -------------------------------------------------------------------------------------------


def _nothing(response: Response) -> None:
    return None


def _is_done(job: Transcription) -> bool:
    return job.done


def _status_of(job: Transcription) -> str | None:
    return job.status


def _finish(job: Transcription) -> Transcription:
    if job.status == TranscriptionStatus.FAILED.value:
        raise TranscriptionFailedError(job)
    return job


def _on_deadline(job: Transcription, seconds: float) -> BaseException:
    return TranscriptionTimeoutError(
        f"the transcription {job.id} was still {job.status} after the poller's deadline of {seconds:g} s; "
        "it goes on: resume with the poller's continuation_token, or cancel() it",
        transcription=job,
    )


def _retry_after(job: Transcription) -> float | None:
    info = job.response
    return None if info is None else parse_retry_after(info.headers)


def _body_of(job: Transcription) -> bytes:
    info = job.response
    return b"" if info is None else info.body


def _poll_interval(value: object) -> PollInterval:
    try:
        return coerce_poll_interval(value)
    except (TypeError, ValueError) as err:
        raise InvalidOptionsError(str(err)) from err


def _deadline(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise InvalidOptionsError(f"deadline must be a timedelta or a number of seconds, not {type(value).__name__}")
    if not seconds > 0 or seconds == float("inf"):
        raise InvalidOptionsError(f"deadline must be more than 0 seconds, not {value!r}; pass None for no limit")
    return seconds


def _check_timedelta(value: object, name: str) -> timedelta | None:
    if value is not None and not isinstance(value, timedelta):
        raise InvalidOptionsError(f"{name} must be a datetime.timedelta, not {type(value).__name__}")
    return value


def _check_id(value: object, name: str = "transcription_id") -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidOptionsError(f"{name} {value!r} is not an id such as 'ba7ea6f5-3065-40b7-b49a-a90f48584683'")
    return value


def _check_locale(value: object) -> str:
    if not isinstance(value, str) or not _LOCALE.fullmatch(value):
        raise InvalidOptionsError(f"locale {value!r} is not a BCP-47 locale such as 'en-US'")
    return value


def _check_enum(value: object, kind: type[enum.Enum], name: str) -> str:
    text = value.value if isinstance(value, kind) else value
    known = [member.value for member in kind]
    if text not in known:
        raise InvalidOptionsError(f"{name} {value!r} is not one of {', '.join(known)}")
    return str(text)


def _check_channels(channels: object) -> list[int]:
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence):
        raise InvalidOptionsError(f"channels must be a list of channel numbers such as [0, 1], not {channels!r}")
    values: list[int] = []
    for channel in channels:  # pyright: ignore[reportUnknownVariableType]
        if isinstance(channel, bool) or not isinstance(channel, int) or channel < 0:
            raise InvalidOptionsError(f"channels holds {channel!r}: channel numbers are whole numbers from 0")
        values.append(channel)
    if not values:
        raise InvalidOptionsError("channels is empty: leave it out for the default [0, 1]")
    return values


def _check_content_urls(urls: object) -> list[str]:
    if isinstance(urls, str) or not isinstance(urls, Sequence):
        raise InvalidOptionsError("content_urls must be a list of URLs (for one URL: content_urls=[url])")
    values: list[object] = list(urls)  # pyright: ignore[reportUnknownArgumentType]
    if not values:
        raise InvalidOptionsError("content_urls is empty: give at least one audio URL")
    if len(values) > MAX_CONTENT_URLS:
        raise InvalidOptionsError(
            f"content_urls has {len(values)} URLs, more than the service's {MAX_CONTENT_URLS} per job: "
            "submit several jobs, or put the audio in a container and pass content_container_url"
        )
    checked: list[str] = []
    for index, url in enumerate(values):
        checked.append(_check_audio_url(url, f"content_urls[{index}]", needs="r"))
    return checked


def _check_audio_url(value: object, name: str, *, needs: str) -> str:
    """An https URL the service can reach (http only on loopback, for an emulator), with a sane SAS."""
    if not isinstance(value, str):
        raise InvalidOptionsError(f"{name} must be a URL as text, not {type(value).__name__}")
    shown = redact_url(value)
    try:
        url = URL(value, encoded=True)
    except (TypeError, ValueError) as err:
        raise InvalidOptionsError(f"{name} {shown!r} is not a URL") from err
    if not url.is_absolute() or not url.host:
        raise InvalidOptionsError(f"{name} {shown!r} is not an absolute URL")
    if url.scheme != "https" and not (url.scheme == "http" and is_loopback(url.host)):
        raise InvalidOptionsError(f"{name} {shown!r} must be an https URL (http only on this machine, for an emulator)")
    if url.user or url.password:
        raise InvalidOptionsError(
            f"{name} {shown!r} carries user info; the service reads URLs with a SAS, not a password"
        )
    query = url.query
    if "sig" not in query:
        return value
    permissions = query.get("sp")
    if permissions is not None and not set(needs) <= set(permissions):
        raise InvalidOptionsError(
            f"{name} {shown!r} has a SAS with permissions {permissions!r}; the service needs {needs!r}"
        )
    expiry = query.get("se")
    if expiry is not None:
        try:
            ends = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
        except ValueError:
            return value  # unverified forms of se= are left to the service
        if ends.tzinfo is None:
            ends = ends.replace(tzinfo=timezone.utc)
        if ends <= datetime.now(timezone.utc):
            raise InvalidOptionsError(
                f"{name} {shown!r} has a SAS that expired at {expiry}: the job would fail; make a new SAS that "
                "outlives the job's time in the queue (hours at busy times)"
            )
    return value


def _reference(value: object, name: str) -> str:
    if isinstance(value, EntityReference):
        value = value.self_url
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise InvalidOptionsError(f"{name} must be the entity's URL (its 'self'), not {value!r}")
    return value


def _check_lid(value: object, version: str) -> dict[str, object]:
    if isinstance(value, LanguageIdentification):
        lid = value
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        lid = LanguageIdentification(candidate_locales=tuple(value))  # pyright: ignore[reportUnknownArgumentType]
    else:
        raise InvalidOptionsError(
            "language_identification must be a LanguageIdentification or a list of candidate locales"
        )
    for locale in lid.candidate_locales:
        _check_locale(locale)
    count = len(lid.candidate_locales)
    single = lid.mode == "Single"
    if lid.mode is not None:
        if lid.mode not in ("Continuous", "Single"):
            raise InvalidOptionsError(f"language_identification mode {lid.mode!r} is not 'Continuous' or 'Single'")
        if not _versions.supports_lid_mode(version):
            raise InvalidOptionsError(f"language_identification mode is not part of {version}; leave it out")
    if count < _MIN_CANDIDATES or (not single and count > _MAX_CONTINUOUS_CANDIDATES):
        most = "" if single else f" to {_MAX_CONTINUOUS_CANDIDATES}"
        raise InvalidOptionsError(
            f"language_identification needs {_MIN_CANDIDATES}{most} candidate locales, not {count}"
        )
    wire = msgspec.to_builtins(lid)
    assert isinstance(wire, dict)
    return wire  # pyright: ignore[reportUnknownVariableType]
