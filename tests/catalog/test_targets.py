"""Tests for parsing and normalising Douyin order targets."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudesk.catalog.targets import (
    MAX_INPUT_CHARS,
    SHORT_LINK_KINDS,
    Target,
    TargetKind,
    parse_target,
    target_hash,
)
from doudesk.errors import DomainError

VID = "7389831599229046068"
VID2 = "7350636142548536628"
SEC = "MS4wLjABAAAA7aMs5WbbRhh_k67TcSSCqn2OGl8el-H5foTbpeHfG3Q"
SEC_LONG = "MS4wLjABAAAAb8MCMgdS0VUmZkezhph6pZIc7x-CrjKdqSFNfaFTewq2bVi3_WKq06QdU5PtO1Ld"
ROOM = "646454278948"
CODE = "iRNBho6u"

VIDEO_URL = f"https://www.douyin.com/video/{VID}"
USER_URL = f"https://www.douyin.com/user/{SEC}"
LIVE_URL = f"https://live.douyin.com/{ROOM}"
SHORT_URL = f"https://v.douyin.com/{CODE}/"


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


V = ("video", VIDEO_URL, VID, False)
A = ("account", USER_URL, SEC, False)
L = ("live", LIVE_URL, ROOM, False)
SV = ("video", SHORT_URL, CODE, True)
SA = ("account", SHORT_URL, CODE, True)

APP_SHARE_TEXT = (
    "7.43 复制打开抖音，看看【某某的作品】今天的晚霞太美了 # 日落 "
    f"https://v.douyin.com/{CODE}/ Mxs:/ 01/02 a@a.Ag "
)

# (pasted text, service kind, expected (kind, url, ident, is_short_link) or the error code)
CASES: list[tuple[str, str, tuple[str, str, str, bool] | str]] = [
    # video links
    (VIDEO_URL, "video", V),
    (f"http://www.douyin.com/video/{VID}/", "video", V),
    (f"https://www.douyin.com/video/{VID}?previous_page=app_code_link&enter_from=main", "video", V),
    (f"www.douyin.com/video/{VID}", "video", V),
    (f"douyin.com/video/{VID}#comments", "video", V),
    (f"HTTPS://WWW.DOUYIN.COM/video/{VID}", "video", V),
    (f"https://m.douyin.com/share/video/{VID}/?region=CN", "video", V),
    (f"https://www.iesdouyin.com/share/video/{VID}/?region=CN&mid={VID2}&u_code=0", "video", V),
    (f"https://www.douyin.com/user/{SEC}?modal_id={VID}", "video", V),
    (f"https://www.douyin.com/user/{SEC}?from_tab_name=main&modal_id={VID}", "video", V),
    (f"https://www.douyin.com/discover?modal_id={VID}", "video", V),
    (f"https://www.douyin.com/jingxuan?modal_id={VID}&type=general", "video", V),
    (f"  {VIDEO_URL}  \n", "video", V),
    (f"{VIDEO_URL} {VIDEO_URL}?from=share", "video", V),  # the same target twice
    # share short links and the app's share text
    (SHORT_URL, "video", SV),
    (f"https://v.douyin.com/{CODE}", "video", SV),
    (f"v.douyin.com/{CODE}/", "account", SA),
    (APP_SHARE_TEXT, "video", SV),
    (APP_SHARE_TEXT, "account", SA),
    (
        "9.41 复制打开抖音👀，看看【小张的作品】🌅今天的晚霞太美了！！# 日落 # 治愈系 "
        "https://v.douyin.com/i2Ab-c_D/ 02/14 X@m.Qb 😍😍",
        "video",
        ("video", "https://v.douyin.com/i2Ab-c_D/", "i2Ab-c_D", True),
    ),
    (
        "长按复制此条消息，打开抖音搜索，查看TA的更多作品。 "
        f"https://v.douyin.com/{CODE}/ 4@2.com :2pm",
        "account",
        SA,
    ),
    (f"https://v.douyin.com/{CODE}/，复制此链接，打开Dou音搜索，直接观看视频！", "video", SV),
    (f"【小李的作品】快来看{VIDEO_URL}。", "video", V),
    (f"看这个（{VIDEO_URL}）……", "video", V),
    (f"see this: {VIDEO_URL}).", "video", V),
    (f"链接：{VIDEO_URL}?from=share!!", "video", V),
    (_fullwidth(VIDEO_URL), "video", V),
    (f"复制打开抖音，看看【作品】{_fullwidth(SHORT_URL)}", "video", SV),
    ("https://www.douyin.com/video/738983159\u200b9229046068", "video", V),  # zero-width space
    (f"\ufeff{VIDEO_URL}", "video", V),
    # account pages
    (USER_URL, "account", A),
    (f"{USER_URL}/", "account", A),
    (f"{USER_URL}?from_tab_name=main&modal_id={VID}", "account", A),
    (f"{USER_URL}?from_tab_name=main&vid={VID2}", "account", A),
    (f"https://www.iesdouyin.com/share/user/{SEC}?sec_uid={SEC}&u_code=x", "account", A),
    (
        f"https://www.douyin.com/user/{SEC_LONG}?showTab=post",
        "account",
        ("account", f"https://www.douyin.com/user/{SEC_LONG}", SEC_LONG, False),
    ),
    (f"抖音号主页👉{USER_URL}👈 快关注", "account", A),
    # live rooms
    (LIVE_URL, "live", L),
    (f"live.douyin.com/{ROOM}?anchor_id=123&enter_from_merge=web_share", "live", L),
    (f"http://live.douyin.com/{ROOM}/", "live", L),
    (
        "【小王的直播间】正在直播，来和我一起支持Ta吧。复制下方链接，打开【抖音】，直接观看直播！ "
        f"{LIVE_URL} 🔥🔥",
        "live",
        L,
    ),
    (_fullwidth(LIVE_URL) + "。", "live", L),
    # empty, too long, dangerous schemes
    ("", "video", "empty"),
    ("   \u3000 \n", "account", "empty"),
    ("\u200b", "live", "empty"),
    ("javascript:alert(document.cookie)", "video", "scheme"),
    (f"JaVaScRiPt:alert(1)//{VIDEO_URL}", "video", "scheme"),
    (f"java\tscript:alert(1)//{VIDEO_URL}", "video", "scheme"),
    ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "video", "scheme"),
    (f"ftp://www.douyin.com/video/{VID}", "video", "scheme"),
    # foreign hosts and look-alikes
    ("https://www.tiktok.com/@scout2015/video/6718335390845095173", "video", "host"),
    (f"https://www.douyin.com.evil.example/video/{VID}", "video", "host"),
    (f"https://evil.example/?next=https://www.douyin.com/video/{VID}", "video", "host"),
    (f"https://evil.example/#{VIDEO_URL}", "video", "host"),
    (f"https://notdouyin.com/video/{VID}", "video", "host"),
    (f"https://www.kuaishou.com/short-video/3xabc?authorId={VID}", "video", "host"),
    # unrecognised Douyin pages and malformed ids
    ("https://www.douyin.com/video/abc", "video", "format"),
    ("https://www.douyin.com/video/123", "video", "format"),
    (f"https://www.douyin.com/video/0{VID[1:]}", "video", "format"),
    (f"https://www.douyin.com/video/{VID}999", "video", "format"),  # 22 digits
    ("https://www.douyin.com/discover?modal_id=12ab", "video", "format"),
    ("https://www.douyin.com/", "video", "format"),
    ("https://www.douyin.com/user/self", "account", "format"),
    ("https://www.douyin.com/user/MS4wLjABAAAA", "account", "format"),
    ("https://www.douyin.com/user/abcdefghijklmnopqrstuvwxyz0123456789", "account", "format"),
    ("https://creator.douyin.com/creator-micro/home", "video", "format"),
    ("https://live.douyin.com/", "live", "format"),
    ("https://live.douyin.com/abc123", "live", "format"),
    ("https://live.douyin.com/12", "live", "format"),
    ("https://v.douyin.com/ab/", "video", "format"),
    ("https://v.douyin.com/iRNB%20ho/", "video", "format"),
    (f"https://www.douyin.com@evil.example/video/{VID}", "video", "format"),
    ("看看这个视频吧，超好看！", "video", "format"),
    (VID, "video", "format"),  # a bare id is not a link
    ("7.43 复制打开抖音 Mxs:/ 01/02 a@a.Ag", "video", "format"),
    # wrong kind for the service
    (USER_URL, "video", "wrong_kind"),
    (LIVE_URL, "video", "wrong_kind"),
    (VIDEO_URL, "account", "wrong_kind"),
    (LIVE_URL, "account", "wrong_kind"),
    (VIDEO_URL, "live", "wrong_kind"),
    (f"https://www.douyin.com/discover?modal_id={VID}", "account", "wrong_kind"),
    (SHORT_URL, "live", "short_link"),
    (APP_SHARE_TEXT, "live", "short_link"),
    # more than one target
    (f"{VIDEO_URL} https://www.douyin.com/video/{VID2}", "video", "ambiguous"),
    (f"{VIDEO_URL} {SHORT_URL}", "video", "ambiguous"),
    (f"{LIVE_URL} https://live.douyin.com/123456", "live", "ambiguous"),
    # services without a target
    ("", "none", ("none", "", "", False)),
    ("  \n ", "none", ("none", "", "", False)),
    (VIDEO_URL, "none", "unexpected"),
    ("javascript:alert(1)", "none", "unexpected"),
]


@pytest.mark.parametrize(("text", "kind", "expected"), CASES)
def test_parse_target_table(
    text: str, kind: str, expected: tuple[str, str, str, bool] | str
) -> None:
    if isinstance(expected, str):
        with pytest.raises(DomainError) as exc:
            parse_target(text, kind)
        (err,) = exc.value.errors
        assert (err.field, err.code) == ("target", expected)
        assert err.message_zh
        assert err.message_en
    else:
        target = parse_target(text, kind)
        assert (target.kind, target.url, target.ident, target.is_short_link) == expected
        assert isinstance(target.kind, TargetKind)
        # The canonical form is a fixed point.
        assert parse_target(target.url, kind) == target


def test_the_table_is_broad() -> None:
    assert len(CASES) >= 40
    assert sum(isinstance(expected, str) for _, _, expected in CASES) >= 20


@pytest.mark.parametrize(
    ("kind", "example"),
    [
        ("video", "https://www.douyin.com/video/"),
        ("account", "https://www.douyin.com/user/"),
        ("live", "https://live.douyin.com/"),
    ],
)
def test_errors_say_what_was_expected_in_both_languages(kind: str, example: str) -> None:
    with pytest.raises(DomainError) as exc:
        parse_target("https://example.com/", kind)
    err = exc.value.errors[0]
    assert example in err.message_zh
    assert example in err.message_en
    assert "需要抖音" in err.message_zh
    assert err.message_en.startswith("Only Douyin")
    assert "Expected a Douyin" in err.message_en
    assert exc.value.status == 400


def test_wrong_kind_message_names_both_kinds() -> None:
    with pytest.raises(DomainError) as exc:
        parse_target(USER_URL, "video")
    err = exc.value.errors[0]
    assert "账号主页" in err.message_zh
    assert "视频" in err.message_zh
    assert "account page link" in err.message_en
    assert "video link" in err.message_en


def test_the_caller_can_rename_the_field() -> None:
    with pytest.raises(DomainError) as exc:
        parse_target("", "video", field="link")
    assert exc.value.errors[0].field == "link"


def test_input_length_limit() -> None:
    padding = "很" * (MAX_INPUT_CHARS - len(VIDEO_URL) - 1)
    assert parse_target(f"{padding} {VIDEO_URL}", "video").ident == VID
    with pytest.raises(DomainError) as exc:
        parse_target(f"{padding}很 {VIDEO_URL}", "video")
    assert exc.value.errors[0].code == "too_long"
    with pytest.raises(DomainError) as exc:
        parse_target(" " * (MAX_INPUT_CHARS + 1), "none")
    assert exc.value.errors[0].code == "too_long"


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="photo"):
        parse_target(VIDEO_URL, "photo")


def test_kind_accepts_the_enum_and_plain_strings() -> None:
    assert parse_target(VIDEO_URL, TargetKind.VIDEO) == parse_target(VIDEO_URL, "video")
    assert parse_target(VIDEO_URL, "video").kind == "video"
    assert SHORT_LINK_KINDS == {"video", "account"}


def test_target_is_frozen() -> None:
    target = parse_target(VIDEO_URL, "video")
    with pytest.raises(AttributeError):
        target.url = "https://example.com/"  # type: ignore[misc]


def test_target_hash_is_sha256_of_the_salt_and_the_canonical_url() -> None:
    a = parse_target(VIDEO_URL, "video")
    b = parse_target(f"看看 {VIDEO_URL}?previous_page=app_code_link 复制此链接", "video")
    expected = hashlib.sha256(f"s1:{VIDEO_URL}".encode()).hexdigest()
    assert target_hash(a, salt="s1") == target_hash(b, salt="s1") == expected
    assert target_hash(a, salt="s2") != expected  # another customer's leaf does not match
    assert target_hash(a, salt="s1") != hashlib.sha256(VIDEO_URL.encode()).hexdigest()
    assert target_hash(a, salt="s1") != target_hash(parse_target(LIVE_URL, "live"), salt="s1")


@settings(max_examples=80, deadline=None)
@given(
    before=st.text(alphabet="复制打开抖音看看作品晚霞日落！，。【】# 🌅😍👀ab1.:/@", max_size=40),
    after=st.text(alphabet="复制打开抖音看看作品晚霞日落！，。【】# 🌅😍👀 ", max_size=40),
)
def test_a_link_survives_any_surrounding_share_text(before: str, after: str) -> None:
    text = f"{before} {VIDEO_URL} {after}"
    assert parse_target(text, "video") == Target(TargetKind.VIDEO, VIDEO_URL, VID)


ERROR_CODES = {
    "empty",
    "too_long",
    "scheme",
    "host",
    "format",
    "wrong_kind",
    "short_link",
    "ambiguous",
    "unexpected",
}


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=300),
        st.text(alphabet="htps:/.wdouyincmv-_?=&#@0123456789MS4wLjAB ", max_size=200),
    ),
    kind=st.sampled_from(["video", "account", "live", "none"]),
)
def test_arbitrary_input_yields_a_target_or_a_field_error(text: str, kind: str) -> None:
    try:
        target = parse_target(text, kind)
    except DomainError as exc:
        (err,) = exc.errors
        assert err.field == "target"
        assert err.code in ERROR_CODES
        return
    if kind == "none":
        assert target == Target(TargetKind.NONE, "", "")
    else:
        assert target.url.startswith("https://")
        assert target.ident in target.url
        assert target.kind == kind
