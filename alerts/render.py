"""An alert as each channel shows it: Telegram HTML (escaped, at most 4096 characters) and plain
e-mail. Any character in a product name is safe: every piece of text is escaped on its own, and
cutting happens before escaping, so a cut never splits a tag or an entity.
"""

import html
import re

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

TELEGRAM_LIMIT = 4096  # Bot API sendMessage: 1-4096 characters
LINE_LIMIT = 600  # one line of an alert (a product name can be very long)
TITLE_LIMIT = 300
ELLIPSIS = "…"
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def clip(text: str, limit: int) -> str:
    """One line of at most `limit` characters (runs of spaces, tabs and newlines made one space;
    no-break spaces, as in "45 000", kept)."""
    text = _SPACES.sub(" ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def utf16_length(text: str) -> int:
    """Telegram measures text in UTF-16 code units (an emoji counts two): stay within that."""
    return len(text.encode("utf-16-le")) // 2


def absolute_url(link: str) -> str:
    if not link or "://" in link:
        return link
    return settings.PORTAL_URL + (link if link.startswith("/") else "/" + link)


def telegram_text(title: str, lines: list[str], link: str = "", limit: int = TELEGRAM_LIMIT) -> str:
    """`<b>title</b>`, the lines, then a link; lines that do not fit are replaced by a count."""
    head = f"<b>{html.escape(clip(title, TITLE_LIMIT), quote=False)}</b>"
    url = absolute_url(link)
    label = html.escape(_("Open in the portal"), quote=False)
    tail = f'\n\n<a href="{html.escape(url)}">{label}</a>' if url else ""
    body = [html.escape(clip(line, LINE_LIMIT), quote=False) for line in lines]
    kept = len(body)
    while True:
        text = "\n".join([head, *body[:kept]])
        if kept < len(body):
            left = len(body) - kept
            text += "\n" + html.escape(
                ngettext(
                    "… and %(n)s more line: see the portal",
                    "… and %(n)s more lines: see the portal",
                    left,
                )
                % {"n": left},
                quote=False,
            )
        text += tail
        if utf16_length(text) <= limit or kept == 0:  # title and link alone always fit
            return text
        kept -= 1


def email_subject(title: str) -> str:
    return "kaspisync: " + clip(title, TITLE_LIMIT)


def email_body(title: str, lines: list[str], link: str = "") -> str:
    parts = [clip(title, TITLE_LIMIT), "", *[clip(line, LINE_LIMIT * 4) for line in lines]]
    url = absolute_url(link)
    if url:
        parts += ["", _("Open in the portal: %(url)s") % {"url": url}]
    return "\n".join(parts) + "\n"
