"""Parse and normalise the Douyin links customers paste as an order's target.

Design overview
---------------
A service module declares a target kind (``video``, ``account``, ``live`` or ``none``);
:func:`parse_target` takes whatever the customer pasted for it and returns one canonical
:class:`Target`, or raises :class:`doudesk.errors.DomainError` on the caller's field (``target``
unless renamed) with a Chinese and an English message that say what was expected.

Steps, all offline and pure (no Django, no network):

1. Reject input over :data:`MAX_INPUT_CHARS` characters; apply NFKC so full-width text typed with
   Chinese input methods (``ｈｔｔｐｓ：／／…``, ``．``, ``／``) reads as ASCII, and drop invisible
   format characters (zero-width spaces) that would cut a link in two.
2. Refuse script-bearing schemes (``javascript:``, ``vbscript:``, ``data:``, ``file:``) anywhere.
3. Find every link in the text: ``scheme://host/...`` or a bare ``host/...``. Links end at the first
   character that cannot occur in a URL (Chinese text, emoji, spaces), and trailing sentence
   punctuation is trimmed, so the app's share text ("7.43 复制打开抖音，看看【…】 https://v.douyin.com/…/
   Mxs:/ …") yields its one link. Hosts are compared exactly (``douyin.com`` and known sub-domains,
   ``iesdouyin.com``), so ``douyin.com.example.net`` or a Douyin address hidden in another site's
   query string is not mistaken for Douyin. E-mail-like fragments (``a@a.Ag``) are not links.
4. Read each Douyin link into its possible meanings:

   * video: ``/video/<id>``, ``/share/video/<id>`` (``iesdouyin.com`` share pages), and any
     ``www.douyin.com`` page with ``?modal_id=<id>`` (or ``?vid=<id>``), which opens that video;
   * account: ``/user/<sec_uid>`` and ``/share/user/<sec_uid>``; a ``/user/<sec_uid>?modal_id=<id>``
     link means the video to a video service and the account to an account service;
   * live room: ``live.douyin.com/<room>``;
   * share short link: ``v.douyin.com/<code>/``, which only Douyin's servers can resolve. It is
     accepted for the kinds in :data:`SHORT_LINK_KINDS` (video and account) with
     ``is_short_link=True`` so that the caller can resolve or check it later.

5. Exactly one distinct meaning of the requested kind must remain; several different targets are
   refused as ambiguous rather than guessed.

Identifier rules: a video id (aweme id) is 15-20 digits without a leading zero; a live room id is
3-20 digits without a leading zero; a short-link code is 4-32 of ``A-Z a-z 0-9 - _``; a ``sec_uid``
is 30-200 base64url characters starting ``MS4wLjAB`` (base64 of the version prefix ``1.0.``).
The canonical URL is rebuilt from the identifier alone, never copied from the input.

Error codes: ``empty``, ``too_long``, ``scheme``, ``host``, ``format`` (no link, an unknown Douyin
page or a malformed id), ``wrong_kind``, ``short_link`` (a short link for a live-room service),
``ambiguous``, ``unexpected`` (text given for a service that takes no target).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs

from doudesk.errors import DomainError

__all__ = [
    "MAX_INPUT_CHARS",
    "SHORT_LINK_KINDS",
    "Target",
    "TargetKind",
    "parse_target",
    "target_hash",
]

MAX_INPUT_CHARS = 2000


class TargetKind(StrEnum):
    """What a service acts on; the values are stored by the catalogue."""

    VIDEO = "video"
    ACCOUNT = "account"
    LIVE = "live"
    NONE = "none"


# A share short link can point to a video or an account page; which one is known only after
# Douyin's server redirects it, so it is accepted for both.
SHORT_LINK_KINDS = frozenset({TargetKind.VIDEO, TargetKind.ACCOUNT})


@dataclass(frozen=True)
class Target:
    """A normalised order target.

    ``url`` is canonical (``https://www.douyin.com/video/<id>``, ``https://v.douyin.com/<code>/``,
    ``https://www.douyin.com/user/<sec_uid>``, ``https://live.douyin.com/<room>``, or ``""`` for
    kind ``none``); ``ident`` is the id, short-link code, ``sec_uid`` or room id.
    """

    kind: TargetKind
    url: str
    ident: str
    is_short_link: bool = False


def target_hash(target: Target, *, salt: str) -> str:
    """Return the SHA-256 hex digest of ``salt``, a colon and the target's canonical URL (UTF-8).

    The public log names targets this way. Unsalted, anyone could hash a video's link and find
    out whether and when it was promoted, and for how much; with the customer's secret salt
    only that customer (and the platform) can link a leaf to a link.
    """
    return hashlib.sha256(f"{salt}:{target.url}".encode()).hexdigest()


_URL_CHAR = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_LINK_RE = re.compile(
    rf"""
    (?<![A-Za-z0-9+.\-/@])                    # not inside a word, host, path or e-mail address
    (?:(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{{0,15}})://)?
    (?P<host>(?:[A-Za-z0-9\-]{{1,63}}\.){{1,8}}[A-Za-z]{{2,24}})
    (?![A-Za-z0-9\-]|\.[A-Za-z0-9])           # the whole host, not a prefix of a longer one
    (?::(?P<port>[0-9]{{1,5}}))?
    (?P<rest>[/?#]{_URL_CHAR}*)?
    """,
    re.VERBOSE,
)
_DANGEROUS_SCHEME_RE = re.compile(r"(?i)(?<![a-z])(?:javascript|vbscript|data|file):")
_TRAILING_PUNCTUATION = ".,;:!?'\")]}*"

_WEB_HOSTS = frozenset(
    {
        "douyin.com",
        "www.douyin.com",
        "m.douyin.com",
        "iesdouyin.com",
        "www.iesdouyin.com",
        "m.iesdouyin.com",
    }
)
_SHORT_HOST = "v.douyin.com"
_LIVE_HOST = "live.douyin.com"

_VIDEO_ID_RE = re.compile(r"[1-9][0-9]{14,19}")
_ROOM_ID_RE = re.compile(r"[1-9][0-9]{2,19}")
_SHORT_CODE_RE = re.compile(r"[A-Za-z0-9_\-]{4,32}")
_SEC_UID_RE = re.compile(r"MS4wLjAB[A-Za-z0-9_\-]{22,192}")
_VIDEO_PATH_RE = re.compile(r"/(?:share/)?video/([^/]+)/?")
_USER_PATH_RE = re.compile(r"/(?:share/)?user/([^/]+)/?")
_SHORT_PATH_RE = re.compile(r"/([^/]+)/?")
_LIVE_PATH_RE = re.compile(r"/([^/]+)/?")

_KIND_NAMES = {
    TargetKind.VIDEO: ("视频", "video"),
    TargetKind.ACCOUNT: ("账号主页", "account page"),
    TargetKind.LIVE: ("直播间", "live-room"),
}
_EXPECTED = {
    TargetKind.VIDEO: (
        "需要抖音视频链接，例如 https://www.douyin.com/video/7300000000000000000 "
        "或分享短链 https://v.douyin.com/AbCd123/",
        "Expected a Douyin video link, e.g. https://www.douyin.com/video/7300000000000000000 "
        "or a share link https://v.douyin.com/AbCd123/",
    ),
    TargetKind.ACCOUNT: (
        "需要抖音账号主页链接，例如 https://www.douyin.com/user/MS4wLjABAAAA… "
        "或分享短链 https://v.douyin.com/AbCd123/",
        "Expected a Douyin account page link, e.g. https://www.douyin.com/user/MS4wLjABAAAA… "
        "or a share link https://v.douyin.com/AbCd123/",
    ),
    TargetKind.LIVE: (
        "需要抖音直播间链接，例如 https://live.douyin.com/123456789",
        "Expected a Douyin live-room link, e.g. https://live.douyin.com/123456789",
    ),
}


@dataclass(frozen=True)
class _Reading:
    """One meaning of one link; ``kind`` is ``None`` for a share short link."""

    kind: TargetKind | None
    ident: str

    def to_target(self, requested: TargetKind) -> Target:
        if self.kind is None:
            return Target(requested, f"https://{_SHORT_HOST}/{self.ident}/", self.ident, True)
        if self.kind is TargetKind.VIDEO:
            url = f"https://www.douyin.com/video/{self.ident}"
        elif self.kind is TargetKind.ACCOUNT:
            url = f"https://www.douyin.com/user/{self.ident}"
        else:
            url = f"https://{_LIVE_HOST}/{self.ident}"
        return Target(self.kind, url, self.ident)


@dataclass
class _Scan:
    """What the link scan found in one piece of text."""

    readings: list[_Reading]
    unrecognised_douyin: bool = False
    foreign_host: bool = False
    bad_scheme: bool = False


def _is_douyin_host(host: str) -> bool:
    return any(
        host == base or host.endswith("." + base) for base in ("douyin.com", "iesdouyin.com")
    )


def _split_rest(rest: str) -> tuple[str, str]:
    """Split ``/path?query#fragment`` into path and query."""
    rest = rest.split("#", 1)[0]
    path, _, query = rest.partition("?")
    return path, query


def _read_link(host: str, rest: str) -> list[_Reading]:
    """Return every meaning of a Douyin link (empty when the page or id is not recognised)."""
    path, query = _split_rest(rest)
    if host == _SHORT_HOST:
        m = _SHORT_PATH_RE.fullmatch(path)
        if m and _SHORT_CODE_RE.fullmatch(m.group(1)):
            return [_Reading(None, m.group(1))]
        return []
    if host == _LIVE_HOST:
        m = _LIVE_PATH_RE.fullmatch(path)
        if m and _ROOM_ID_RE.fullmatch(m.group(1)):
            return [_Reading(TargetKind.LIVE, m.group(1))]
        return []
    if host not in _WEB_HOSTS:
        return []
    readings: list[_Reading] = []
    if m := _VIDEO_PATH_RE.fullmatch(path):
        if _VIDEO_ID_RE.fullmatch(m.group(1)):
            readings.append(_Reading(TargetKind.VIDEO, m.group(1)))
        return readings
    params = parse_qs(query, keep_blank_values=True)
    for name in ("modal_id", "vid"):
        values = params.get(name, [])
        if len(values) == 1 and _VIDEO_ID_RE.fullmatch(values[0]):
            readings.append(_Reading(TargetKind.VIDEO, values[0]))
            break
    if (m := _USER_PATH_RE.fullmatch(path)) and _SEC_UID_RE.fullmatch(m.group(1)):
        readings.append(_Reading(TargetKind.ACCOUNT, m.group(1)))
    return readings


def _scan(text: str) -> _Scan:
    """Find every link in ``text`` and read the Douyin ones."""
    scan = _Scan(readings=[])
    for match in _LINK_RE.finditer(text):
        host = match.group("host").lower()
        if not _is_douyin_host(host):
            scan.foreign_host = True
            continue
        scheme = (match.group("scheme") or "https").lower()
        if scheme not in ("http", "https"):
            scan.bad_scheme = True
            continue
        rest = (match.group("rest") or "").rstrip(_TRAILING_PUNCTUATION)
        readings = _read_link(host, rest)
        if not readings:
            scan.unrecognised_douyin = True
        for reading in readings:
            if reading not in scan.readings:
                scan.readings.append(reading)
    return scan


def _clean(text: str) -> str:
    """NFKC-normalise and drop invisible format characters (Unicode category Cf)."""
    normalised = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in normalised if unicodedata.category(ch) != "Cf")


def parse_target(text: str, kind: str, *, field: str = "target") -> Target:
    """Parse what a customer pasted for a service whose target kind is ``kind``.

    Returns the canonical :class:`Target`; for kind ``none`` the text must be blank and the result
    is ``Target(TargetKind.NONE, "", "")``. Raises :class:`DomainError` on ``field`` when the text
    is not exactly one acceptable Douyin target, and :class:`ValueError` for an unknown ``kind``
    (a programming error, not a user error).
    """
    wanted = TargetKind(kind)

    def fail(code: str, problem_zh: str, problem_en: str) -> DomainError:
        if wanted is TargetKind.NONE:
            return DomainError.single(field, code, problem_zh, problem_en)
        expected_zh, expected_en = _EXPECTED[wanted]
        return DomainError.single(
            field, code, f"{problem_zh}{expected_zh}。", f"{problem_en} {expected_en}."
        )

    if len(text) > MAX_INPUT_CHARS:
        raise fail(
            "too_long",
            f"内容过长（最多{MAX_INPUT_CHARS}个字符），请只粘贴链接或分享文字。",
            f"The text is too long (at most {MAX_INPUT_CHARS} characters); paste only the link "
            "or the share text.",
        )
    cleaned = _clean(text).strip()
    if wanted is TargetKind.NONE:
        if cleaned:
            raise fail(
                "unexpected",
                "此服务不需要填写链接，请留空。",
                "This service takes no link; leave it empty.",
            )
        return Target(TargetKind.NONE, "", "")
    if not cleaned:
        raise fail("empty", "请填写链接。", "The link is missing.")
    if _DANGEROUS_SCHEME_RE.search("".join(cleaned.split())):
        raise fail(
            "scheme", "只接受以 http(s) 开头的网页链接。", "Only http(s) web links are accepted."
        )

    scan = _scan(cleaned)
    shortable = wanted in SHORT_LINK_KINDS
    matching = [r for r in scan.readings if r.kind is wanted or (r.kind is None and shortable)]
    if len(matching) == 1:
        return matching[0].to_target(wanted)
    if len(matching) > 1:
        raise fail(
            "ambiguous",
            "找到了多个不同的抖音链接，请只粘贴一个。",
            "Several different Douyin links were found; paste only one.",
        )
    if any(r.kind is None for r in scan.readings):
        raise fail(
            "short_link",
            "分享短链无法确认是否指向直播间，请在浏览器中打开直播间后复制地址栏中的链接。",
            "A share short link cannot be confirmed to point to a live room; open the room in a "
            "browser and copy the address bar link.",
        )
    if scan.readings:
        found = next(r.kind for r in scan.readings if r.kind is not None)
        found_zh, found_en = _KIND_NAMES[found]
        wanted_zh, wanted_en = _KIND_NAMES[wanted]
        raise fail(
            "wrong_kind",
            f"这是抖音{found_zh}链接，但此服务需要{wanted_zh}链接。",
            f"This is a Douyin {found_en} link, but this service needs "
            f"{'an' if wanted_en[0] in 'aeiou' else 'a'} {wanted_en} link.",
        )
    if scan.bad_scheme:
        raise fail(
            "scheme", "只接受以 http(s) 开头的网页链接。", "Only http(s) web links are accepted."
        )
    if scan.unrecognised_douyin:
        raise fail(
            "format",
            "无法识别这个抖音链接，或其中的编号格式不正确。",
            "This Douyin link is not one we recognise, or its id is malformed.",
        )
    if scan.foreign_host:
        raise fail(
            "host",
            "只接受抖音（douyin.com）的链接。",
            "Only Douyin (douyin.com) links are accepted.",
        )
    raise fail("format", "没有找到链接。", "No link was found.")
