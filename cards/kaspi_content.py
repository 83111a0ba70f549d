"""Kaspi content-import API client (product cards). Payloads are normalised here, once.

    client = KaspiContentClient()          # KASPI_CONTENT_API_URL / KASPI_TOKEN from settings
    client.categories()                    # [KaspiCategoryData]
    client.attributes("Master - Notebooks")            # [KaspiAttributeData]
    client.attribute_values("Master - Notebooks", code) # [(code, name)]
    client.schema()                        # the JSON Schema (also a harmless token check)
    answer = client.upload(cards)          # POST /import, text/plain, a bare JSON array
    client.import_status(answer.code)      # ImportStatus (still working unless FINISHED/ABORTED)
    client.import_result(answer.code)      # ImportResult with a SkuResult per SKU

Every call sends `X-Auth-Token`, `Accept: application/json` and a User-Agent (kaspisync.http);
the upload's `Content-Type` is exactly `text/plain`, as Kaspi's guide and every working client
send it. Query values (category and attribute codes hold spaces and `*`) are percent-encoded
(`%20`, never `+`, which a server decoding only percent escapes would keep). GETs are retried
with backoff on 429, 5xx, timeouts and broken connections (a `Retry-After` is honoured). The upload is never
repeated blindly: it is retried only when it provably never reached Kaspi (the connection was
refused or never made); once sent, a timeout, a dropped connection, a 5xx or a broken answer
raise `AnswerLost` (Kaspi may have accepted it, and no endpoint finds an import without its
code). 401/403 are answered in words (`TokenRefused`).
"""

import logging
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import orjson
import requests
import urllib3
from django.conf import settings
from django.utils.translation import gettext as _

from kaspisync.http import ExternalServiceError, RetryPolicy, make_session, retry_after, timeouts
from kaspisync.secrets import register_secret

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = {429, 500, 502, 503, 504}
FINAL_STATUSES = ("FINISHED", "ABORTED")


class ContentApiError(ExternalServiceError):
    """A failure talking to the content API (message masked, diagnosis in words)."""


class TokenRefused(ContentApiError):
    """401/403: the token is wrong or has no access to the content API."""


class AnswerLost(ContentApiError):
    """The upload reached Kaspi but its answer did not come back whole: it may have been accepted."""


def token_diagnosis() -> str:
    return _(
        "The Kaspi token is wrong or has no access to the content API; generate it in the cabinet "
        "under Settings → API token (the same token as for orders) and set KASPI_TOKEN."
    )


def timeout_diagnosis() -> str:
    return _(
        "Kaspi did not answer in time. Common causes: the token is not activated yet, or Kaspi "
        "refuses addresses outside Kazakhstan; Kaspi may also be down."
    )


# --- typed values ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KaspiCategoryData:
    code: str
    title: str


@dataclass(frozen=True, slots=True)
class KaspiAttributeData:
    code: str
    type: str
    multi_valued: bool
    mandatory: bool


@dataclass(frozen=True, slots=True)
class ImportStatus:
    code: str
    status: str  # as Kaspi says it: UPLOADED, FINISHED, ABORTED, anything else = still working
    description: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True, slots=True)
class SkuResult:
    created: bool
    message: str  # Kaspi's words (errors, warnings), or the whole entry when its shape is unexpected


@dataclass(frozen=True)
class ImportResult:
    errors: int
    warnings: int
    skipped: int
    total: int
    by_sku: dict[str, SkuResult] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"errors": self.errors, "warnings": self.warnings, "skipped": self.skipped, "total": self.total}


def _text(value) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(t for t in (_text(v) for v in value) if t)
    if isinstance(value, dict):
        for key in ("message", "description", "text", "title", "error", "code"):
            if value.get(key):
                return _text(value[key])
    return orjson.dumps(value).decode()


def sku_result(entry) -> SkuResult:
    """One SKU's entry of /import/result. Its shape for a failure is not documented: a created
    card is {"state": "FINISHED"} with no errors; anything else is a failure whose words are
    taken from the usual keys, or the whole entry as text."""
    if not isinstance(entry, dict):
        return SkuResult(False, _text(entry) or orjson.dumps(entry).decode())
    state = str(entry.get("state") or entry.get("status") or "").upper()
    problems = [entry.get(k) for k in ("errors", "error") if entry.get(k)]
    if state == "FINISHED" and not problems:
        return SkuResult(True, _text(entry.get("warnings")))
    message = "; ".join(_text(p) for p in problems) or _text(entry.get("message") or entry.get("description"))
    return SkuResult(False, message or orjson.dumps(entry).decode())


def _count(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- the client ---------------------------------------------------------------------------------
class KaspiContentClient:
    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        max_attempts: int | None = None,
        backoff_base: float | None = None,
        timeout: tuple[float, float] | None = None,
    ):
        self.base_url = (base_url or settings.KASPI_CONTENT_API_URL).rstrip("/")
        self.token = settings.KASPI_TOKEN if token is None else token
        register_secret(self.token)
        self.retry = RetryPolicy.configured("KASPI", max_attempts, backoff_base)
        self.timeout = timeout or timeouts()
        self.session = make_session({"X-Auth-Token": self.token, "Accept": "application/json"})
        self.requests_made = 0

    # -- transport --
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @staticmethod
    def _query(params: dict | None) -> str | None:
        """`c=Master%20-%20Notebooks&a=...%2A...`: every value percent-encoded, spaces as %20."""
        if not params:
            return None
        return "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in params.items())

    def get(self, path: str, params: dict | None = None):
        """GET with bounded retries on 5xx/429, timeouts and broken connections or answers (the
        shared `RetryPolicy`)."""
        where = f"GET {urlsplit(self._url(path)).path}"
        return self.retry.call(lambda: self._send("GET", path, where, params=params), log=log)

    def _send(self, method: str, path: str, where: str, *, params=None, body: bytes | None = None, headers=None):
        if not self.token:
            raise TokenRefused(
                _("%(where)s: no Kaspi token is configured") % {"where": where}, diagnosis=token_diagnosis()
            )
        self.requests_made += 1
        try:
            response = self.session.request(
                method, self._url(path), params=self._query(params), data=body, headers=headers, timeout=self.timeout
            )
        except requests.ConnectTimeout:
            error = ContentApiError(
                _("%(where)s: no connection in time") % {"where": where}, retryable=True, diagnosis=timeout_diagnosis()
            )
            error.sent = False
            raise error from None
        except requests.Timeout:
            raise ContentApiError(
                _("%(where)s: timed out") % {"where": where}, retryable=True, diagnosis=timeout_diagnosis()
            ) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise ContentApiError(
                _("%(where)s: the answer broke off (%(error)s)") % {"where": where, "error": type(exc).__name__},
                retryable=True,
                diagnosis=_("Kaspi sent a broken answer; it is usually temporary."),
            ) from None
        except requests.ConnectionError as exc:
            error = ContentApiError(
                _("%(where)s: the connection failed (%(error)s)") % {"where": where, "error": type(exc).__name__},
                retryable=True,
                diagnosis=_("Check the network and KASPI_CONTENT_API_URL (%(url)s).") % {"url": self.base_url},
            )
            error.sent = not _connect_failure(exc)
            raise error from None
        status = response.status_code
        if status in (401, 403):
            raise TokenRefused(
                _("%(where)s: Kaspi refused the token (HTTP %(status)s)") % {"where": where, "status": status},
                status=status,
                diagnosis=token_diagnosis(),
            )
        if not 200 <= status < 300:  # 200 documented; 201/202 are answers too, never "lost"
            detail = response.text[:300].strip() if "json" in response.headers.get("Content-Type", "") else ""
            raise ContentApiError(
                _("%(where)s: HTTP %(status)s%(detail)s")
                % {"where": where, "status": status, "detail": f" ({detail})" if detail else ""},
                retryable=status in RETRYABLE_STATUSES,
                status=status,
                retry_after=retry_after(response) if status in (429, 503) else None,
                diagnosis=_("Kaspi had a server error; it is usually temporary.")
                if status >= 500
                else _("Kaspi asks to send fewer requests; they are sent again after a wait.")
                if status == 429
                else _("Kaspi refused the request; check KASPI_CONTENT_API_URL (…/shop/api/products)."),
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ContentApiError(
                _("%(where)s: the answer is not valid JSON") % {"where": where},
                retryable=True,
                status=200,
                diagnosis=_("Kaspi sent a broken answer; it is usually temporary."),
            ) from None

    # -- classification --
    def categories(self) -> list[KaspiCategoryData]:
        rows = self.get("classification/categories")
        if not isinstance(rows, list):
            raise ContentApiError(_("unexpected answer to %(call)s") % {"call": "classification/categories"})
        result = []
        for row in rows:
            if isinstance(row, dict) and str(row.get("code") or "").strip():
                result.append(KaspiCategoryData(str(row["code"]).strip(), str(row.get("title") or "").strip()))
        return result

    def attributes(self, category: str) -> list[KaspiAttributeData]:
        rows = self.get("classification/attributes", {"c": category})
        if not isinstance(rows, list):
            raise ContentApiError(_("unexpected answer to %(call)s") % {"call": "classification/attributes"})
        result = []
        for row in rows:
            if not isinstance(row, dict) or not str(row.get("code") or "").strip():
                continue
            kind = str(row.get("type") or "string").lower()
            result.append(
                KaspiAttributeData(
                    code=str(row["code"]).strip(),
                    type=kind if kind in ("boolean", "enum", "string", "number") else "string",
                    multi_valued=row.get("multiValued") is True or str(row.get("multiValued")).lower() == "true",
                    mandatory=row.get("mandatory") is True or str(row.get("mandatory")).lower() == "true",
                )
            )
        return result

    def attribute_values(self, category: str, attribute: str) -> list[tuple[str, str]]:
        rows = self.get("classification/attribute/values", {"c": category, "a": attribute})
        if not isinstance(rows, list):
            raise ContentApiError(_("unexpected answer to %(call)s") % {"call": "classification/attribute/values"})
        result = []
        for row in rows:
            if isinstance(row, dict) and str(row.get("code") or "").strip():
                result.append((str(row["code"]).strip(), str(row.get("name") or "").strip()))
        return result

    def schema(self) -> dict:
        answer = self.get("import/schema")
        if not isinstance(answer, dict):
            raise ContentApiError(_("unexpected answer to %(call)s") % {"call": "import/schema"})
        return answer

    # -- import --
    def upload(self, cards: list[dict]) -> ImportStatus:
        """POST /import with a bare JSON array as text/plain. Retried only while the request
        provably never reached Kaspi; see the module docstring."""
        where = "POST /import"
        body = orjson.dumps(cards)
        headers = {"Content-Type": "text/plain"}  # exactly as documented; the body is UTF-8 JSON

        def attempt():
            try:
                return self._send("POST", "import", where, body=body, headers=headers)
            except TokenRefused:
                raise
            except ContentApiError as exc:
                if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                    exc.retryable = False
                    raise  # refused before processing: nothing to look up, never retried
                if not _never_sent(exc):
                    raise AnswerLost(
                        _("%(where)s: the answer was lost (%(error)s); Kaspi may have accepted the upload")
                        % {"where": where, "error": exc.args[0]},
                        status=exc.status,
                        diagnosis=exc.diagnosis,
                    ) from None
                exc.retryable = True  # provably never reached Kaspi: safe to send again
                raise

        answer = self.retry.call(attempt, log=log)
        code = str(answer.get("code") or "") if isinstance(answer, dict) else ""
        if not code:
            raise AnswerLost(
                _("%(where)s: the answer has no import code") % {"where": where},
                diagnosis=_("Kaspi sent an unexpected answer; the upload may have been accepted."),
            )
        return ImportStatus(code, str(answer.get("status") or "UPLOADED"), str(answer.get("description") or ""))

    def import_status(self, code: str) -> ImportStatus:
        answer = self.get("import", {"i": code})
        if not isinstance(answer, dict):
            raise ContentApiError(_("unexpected answer to %(call)s") % {"call": "import"}, retryable=True)
        return ImportStatus(
            str(answer.get("code") or code), str(answer.get("status") or ""), _text(answer.get("description"))
        )

    def import_result(self, code: str) -> ImportResult:
        answer = self.get("import/result", {"i": code})
        if not isinstance(answer, dict):
            raise ContentApiError(_("unexpected answer to %(call)s") % {"call": "import/result"}, retryable=True)
        entries = answer.get("result")
        if isinstance(entries, list):  # not the documented shape; entries that name their SKU are read
            entries = {e["sku"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("sku"), str)}
        by_sku = {str(sku): sku_result(entry) for sku, entry in entries.items()} if isinstance(entries, dict) else {}
        return ImportResult(
            errors=_count(answer.get("errors")),
            warnings=_count(answer.get("warnings")),
            skipped=_count(answer.get("skipped")),
            total=_count(answer.get("total")),
            by_sku=by_sku,
        )


def _never_sent(exc: ContentApiError) -> bool:
    """True when the upload provably never reached Kaspi: no connection was made, or Kaspi
    refused it before processing it (429)."""
    return exc.status == 429 or getattr(exc, "sent", True) is False


def _connect_failure(exc: requests.ConnectionError) -> bool:
    """The connection itself could not be made (refused, unknown host): nothing was sent."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)
