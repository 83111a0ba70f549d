"""GET /feeds/<FEED_TOKEN>/kaspi.xml: the last published price list, for Kaspi's robot.

Never builds: it serves the stored file of the published version (gzip-compressed copy when
accepted), with an ETag from its SHA-256 and Last-Modified from its publication, and answers
conditional requests with 304. Every request is logged in batches by feeds.fetchlog: a fetch
with the right token as a row, a wrong token only as a count per day and address.
"""

import hmac

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, HttpResponseNotFound
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from kaspisync import net

from . import fetchlog, selectors

CONTENT_TYPE = "application/xml; charset=utf-8"


def _token_ok(token: str) -> bool:
    expected = settings.FEED_TOKEN
    # Constant time; an empty FEED_TOKEN disables the feed.
    return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())


def _accepts_gzip(request) -> bool:
    """gzip is listed in Accept-Encoding, without q=0."""
    for part in request.META.get("HTTP_ACCEPT_ENCODING", "").lower().split(","):
        coding, _sep, params = part.partition(";")
        if coding.strip() != "gzip":
            continue
        for param in params.split(";"):
            name, _sep, value = param.strip().partition("=")
            if name == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


@require_safe
def price_list(request, token: str):
    if not _token_ok(token):
        fetchlog.record_wrong_token(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))
        return HttpResponseNotFound(b"Not Found", content_type="text/plain")
    version = selectors.served_version()
    if version is None:
        response = HttpResponseNotFound(b"Not Found", content_type="text/plain")
        _log(request, response, 0, False, None)
        return response
    gzip = bool(version["gzip_size"]) and _accepts_gzip(request)
    name, size, etag = version["file"], version["size"], f'"{version["sha256"]}"'
    if gzip:
        name, size, etag = f"{name}.gz", version["gzip_size"], f'"{version["sha256"]}-gz"'
    last_modified = int(version["published_at"].timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    sent = 0
    if response is None:
        if request.method == "HEAD":
            response = HttpResponse(content_type=CONTENT_TYPE)
        else:
            response = FileResponse(default_storage.open(name, "rb"), content_type=CONTENT_TYPE, filename="kaspi.xml")
            sent = size
        response["Content-Length"] = str(size)
        if gzip:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = "no-cache"  # caches must revalidate: the ETag makes that a 304
    patch_vary_headers(response, ("Accept-Encoding",))
    _log(request, response, sent, gzip, version["pk"])
    return response


def client_ip(request) -> str | None:
    """The fetcher's address (behind our own reverse proxies: FEED_TRUSTED_PROXIES)."""
    return net.client_ip(request, settings.FEED_TRUSTED_PROXIES)


def _log(request, response, sent: int, gzip: bool, version_id) -> None:
    fetchlog.record_fetch(
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        method=request.method,
        status=response.status_code,
        bytes_sent=sent,
        gzip=gzip,
        version_id=version_id,
    )
