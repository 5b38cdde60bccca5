"""What the console tells people when something goes wrong: a Chinese sentence for
the page or the API's ``detail``, and beside it a stable machine ``code``.

The layers below (alerts, index, accounts) word their errors for logs and the CLI,
some in English, some as "中文 / english". Here each known message is matched once
and given its Chinese wording and code; a bilingual one keeps its Chinese half; an
unknown English one falls back to a plain Chinese sentence for its HTTP status, so
no English sentence reaches a person. Programs branch on ``code``, never on text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from console.accounts import ROLE_LABELS_ZH
from yuqing.bilingual import split

Wording = Callable[[re.Match[str]], str]

# Known messages: (pattern on the whole text, code, Chinese wording).
RULES: list[tuple[re.Pattern[str], str, Wording]] = []


def rule(pattern: str, code: str) -> Callable[[Wording], Wording]:
    def add(fn: Wording) -> Wording:
        RULES.append((re.compile(pattern, re.S), code, fn))
        return fn

    return add


ROLE_ZH: dict[str, str] = ROLE_LABELS_ZH  # the names the console shows for roles
PERMISSION_ZH: dict[str, str] = {
    "act": "处置告警",
    "search": "检索舆情",
    "dashboard": "查看督办统计",
    "reports": "查看舆情简报",
    "admin": "管理系统",
}


def _q(text: str) -> str:
    """A quoted value as the message showed it, without Python's quotes."""
    return text.strip("'\"")


rule(r"alert (\d+) not found", "alert_not_found")(lambda m: f"未找到告警 {m[1]}")
rule(r"post (\d+) not found", "post_not_found")(lambda m: f"未找到帖子 {m[1]}")
rule(r"event (\d+) not found", "event_not_found")(lambda m: f"未找到事件 {m[1]}")
rule(r"no raw text kept for post (\d+)", "raw_text_missing")(
    lambda m: f"帖子 {m[1]} 没有保存原文（或不在您的范围内）"
)
rule(r"unknown status (.+?): use .*", "unknown_status")(
    lambda m: (
        f"没有“{m[1]}”这个状态，可选：待确认 open、已确认 acknowledged、已回复 "
        "responded、已办结 resolved 或全部 all"
    )
)
rule(r"(告警 \d+ .+?)\s*/\s*alert \d+ (?:is|awaits) .*", "transition_not_allowed")(lambda m: m[1])
rule(r"limit must be at least 1", "invalid_limit")(lambda m: "条数至少为 1")
rule(r"text is too long \((\d+) characters\); the limit is (\d+)", "text_too_long")(
    lambda m: f"内容过长（{m[1]} 字），上限 {m[2]} 字"
)
rule(r"channel is too long; the limit is (\d+) characters", "channel_too_long")(
    lambda m: f"回复渠道名称过长，上限 {m[1]} 字"
)
rule(r"unknown action (.+?): use .*", "unknown_action")(
    lambda m: f"没有“{_q(m[1])}”这个操作，可选：确认、回复、办结、重新打开、备注"
)
rule(r"your role \((\w+)\) may not read unmasked text", "role_forbidden")(
    lambda m: f"您的角色（{ROLE_ZH.get(m[1], m[1])}）无权查看原文"
)
rule(r"your role \((\w+)\) may not do this \((\w+)\)", "role_forbidden")(
    lambda m: f"您的角色（{ROLE_ZH.get(m[1], m[1])}）无权{PERMISSION_ZH.get(m[2], '执行此操作')}"
)
rule(r"authentication required.*", "auth_required")(
    lambda m: "请先登录（或在请求中附上 Authorization: Bearer 令牌）"
)
rule(r"CSRF token missing or wrong.*", "csrf_failed")(
    lambda m: "页面已过期或来源不明（CSRF 校验失败），请刷新页面后重试"
)
rule(r"cross-origin request refused", "cross_origin")(lambda m: "拒绝来自其他网站的请求")
rule(r"not found \(id out of range\)", "not_found")(lambda m: "未找到（编号超出范围）")
rule(r"Not Found", "not_found")(lambda m: "未找到该页面")
rule(r"Method Not Allowed", "method_not_allowed")(lambda m: "不支持该请求方式")
rule(r"unknown decision (.+)", "unknown_decision")(
    lambda m: f"没有“{_q(m[1])}”这个研判决定，可选：确认、改级、排除、归档"
)
rule(r"export as csv or xlsx", "unknown_format")(lambda m: "导出格式只能是 csv 或 xlsx")
rule(r"a brief is html or pdf", "unknown_format")(lambda m: "简报格式只能是 html 或 pdf")
# Search queries (index/query.py, console/searching.py), behind "查询有误：" or bare.
rule(r"(?:查询有误：)?nothing to search for in (.+?): use words, not only symbols", "query_empty")(
    lambda m: f"查询有误：{_q(m[1])} 中没有可检索的词，请输入文字，不要只输入符号"
)
rule(r"(?:查询有误：)?too many search terms \(more than (\d+)\).*", "query_too_long")(
    lambda m: f"查询有误：检索词过多（超过 {m[1]} 个），请减少"
)
rule(r"(?:查询有误：)?query has too many words \(more than (\d+)\).*", "query_too_long")(
    lambda m: f"查询有误：查询过长（超过 {m[1]} 个词），请缩短"
)
rule(r"(?:查询有误：)?-(\w+): excluding by a field is not supported", "query_syntax")(
    lambda m: f"查询有误：不支持按字段排除（-{m[1]}）"
)
rule(r"(?:查询有误：)?(\w+): needs a value, e\.g\. (.+)", "query_syntax")(
    lambda m: f"查询有误：{m[1]}: 需要一个值，例如 {m[2]}"
)
rule(r"(?:查询有误：)?(\w+) is given twice \((.+) and (.+)\); give it once", "query_syntax")(
    lambda m: f"查询有误：{m[1]} 给了两次（{m[2]} 和 {m[3]}），只能给一次"
)
rule(r"(?:查询有误：)?tier:(\S*): nothing is more serious than tier I", "query_syntax")(
    lambda m: f"查询有误：tier:{m[1]}：没有比 I 级更严重的等级"
)
rule(r"(?:查询有误：)?tier:(\S*): use (tier:\S+) or (tier:\S+)", "query_syntax")(
    lambda m: f"查询有误：tier:{m[1]}：请写 {m[2]} 或 {m[3]}"
)
rule(r"(?:查询有误：)?(\w+): (.+?) is not a date; use YYYY-MM-DD", "query_syntax")(
    lambda m: f"查询有误：{m[1]}: {_q(m[2])} 不是日期，请写成 YYYY-MM-DD"
)
rule(r"(?:查询有误：)?(\S+) is out of range", "query_syntax")(
    lambda m: f"查询有误：{m[1]} 超出范围"
)
rule(r"(?:查询有误：)?offset is too large; the limit is (\d+)", "query_too_deep")(
    lambda m: f"查询有误：翻页太深，最多到第 {m[1]} 条，请缩小检索范围"
)
rule(
    r"(?:查询有误：)?(\w+):(\S+) in the query conflicts with the selected \w+ (.+)",
    "query_conflict",
)(lambda m: f"查询有误：查询中的 {m[1]}:{m[2]} 与所选的 {m[3]} 相矛盾")
rule(r"(?:查询有误：)?(\w+):(\S+) is not a date; use .*", "query_syntax")(
    lambda m: f"查询有误：{m[1]}:{_q(m[2])} 不是日期，请写成 YYYY-MM-DD"
)
rule(r"(?:查询有误：)?tier:(\S*): unknown tier .*", "query_syntax")(
    lambda m: f"查询有误：没有等级 {_q(m[1])}，可用 I、II、III、IV 或 1-4"
)
rule(
    r"(?:查询有误：)?query is too long \((\d+) characters\); the limit is (\d+)", "query_too_long"
)(lambda m: f"查询有误：查询过长（{m[1]} 个字符），上限 {m[2]} 个")
rule(r"(?:查询有误：)?sort:(\S*): use sort:newest or sort:relevance", "query_syntax")(
    lambda m: f"查询有误：sort:{m[1]}：请写 sort:newest（最新）或 sort:relevance（相关度）"
)
rule(r"(?:查询有误：)?cannot search for (.+?): .*", "query_syntax")(
    lambda m: f"查询有误：无法检索 {_q(m[1])}"
)

# When nothing more is known: one plain sentence per HTTP status.
BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("invalid_input", "请求有误，请检查后重试"),
    401: ("auth_required", "请先登录"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "未找到"),
    405: ("method_not_allowed", "不支持该请求方式"),
    409: ("conflict", "当前状态下不能这样做"),
    413: ("too_large", "提交的内容过大"),
    422: ("invalid_request", "请求参数有误"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误，请稍后再试"),
    503: ("unavailable", "服务暂不可用，请稍后再试"),
}
_HAN = re.compile(r"[\u4e00-\u9fff]")
_BILINGUAL = re.compile(r"\s*/\s+(?=[A-Za-z])")
# Three ASCII words in a row, as the no-English test defines an English sentence.
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ \t]+[A-Za-z][A-Za-z'’-]*){2,}")


def explain(status: int, detail: object) -> tuple[str, str]:
    """(code, Chinese message) for an error of ``status`` whose text is ``detail``."""
    text = str(detail).strip() if detail is not None else ""
    for pattern, code, wording in RULES:
        m = pattern.fullmatch(text)
        if m:
            return code, wording(m)
    found = split(text)  # also where the English half starts with a value ('x', a path)
    if found is not None:  # "中文 / English" at its source: its words, the rule's code
        zh, en = found
        for pattern, code, _ in RULES:
            if pattern.fullmatch(en):
                return code, zh
    fallback_code, fallback = BY_STATUS.get(
        status, ("error", "无法完成" if status < 500 else "服务器出错，请稍后再试")
    )
    halves = list(found) if found else _BILINGUAL.split(text, maxsplit=1)
    if len(halves) == 2 and _HAN.search(halves[0]):
        text = halves[0]  # "中文 / english": the Chinese half
    if text.startswith("查询有误") and ENGLISH_RUN.search(_without_code(text)):
        return "query_syntax", "查询有误：请检查查询的写法（可展开“检索语法”查看示例）"
    if text and _HAN.search(text) and not ENGLISH_RUN.search(_without_code(text)):
        return fallback_code, text
    return fallback_code, fallback


def _without_code(text: str) -> str:
    """Text minus what is code, an id or a URL (those may be ASCII)."""
    return re.sub(r"https?://\S+|`[^`]*`|\S*[/:=._]\S*", " ", text)


def json_error(status: int, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    code, message = explain(status, detail)
    return JSONResponse({"detail": message, "code": code}, status_code=status, headers=headers)


FIELD_ZH = {"text": "内容", "channel": "渠道", "limit": "条数", "offset": "起始位置", "reason": "理由",
            "team": "责任单位", "category": "类别", "tier": "等级", "alert_id": "告警编号",
            "post_id": "帖子编号", "event_id": "事件编号", "q": "查询"}  # fmt: skip


def invalid_message(errors: Sequence[Any]) -> str:
    """A request FastAPI could not validate (422): which fields, in Chinese."""
    fields = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "form")]
        name = loc[-1] if loc else ""
        fields.append(FIELD_ZH.get(name, name))
    shown = "、".join(dict.fromkeys(f for f in fields if f))
    return f"请求参数有误：{shown}" if shown else "请求参数有误"


def invalid_request(errors: Sequence[Any]) -> Response:
    """The 422 for programs: the Chinese message, a code, and FastAPI's own list."""
    safe = jsonable_encoder(errors)
    return JSONResponse(
        {"detail": invalid_message(errors), "code": "invalid_request", "errors": safe},
        status_code=422,
    )
