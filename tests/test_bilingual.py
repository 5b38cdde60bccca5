"""Errors people read are "中文 / English"; yuqing.bilingual finds the halves."""

from __future__ import annotations

from yuqing.bilingual import halves, split


def test_the_halves_of_a_message() -> None:
    assert split("没有来源 'x' / unknown source 'x'") == ("没有来源 'x'", "unknown source 'x'")
    # a Chinese value quoted, a path or a dotted key in the English half is not its language
    assert split("没有类别 '停水' / unknown category '停水'") == (
        "没有类别 '停水'",
        "unknown category '停水'",
    )
    assert split("x：不是责任单位 / duty_desks.城关镇: 'x' is not a team") is not None
    assert split("没有这个文件：/数据/a.jsonl / /数据/a.jsonl: no such file") == (
        "没有这个文件：/数据/a.jsonl",
        "/数据/a.jsonl: no such file",
    )
    assert split("see a/ b / c") is None and split("停水 / 断电") is None
    assert halves("plain English") == ("plain English", "plain English")


def test_a_message_built_around_another_keeps_each_half_whole() -> None:
    from classifier.persist import ModelLoadError
    from runtime.app import NoModelError

    inner = ModelLoadError("/m/v3/meta.json：文件不存在 / /m/v3/meta.json: missing")
    zh, en = halves(inner)
    assert halves(f"不能启用 v3：{zh} / refusing to promote v3: {en}") == (
        "不能启用 v3：/m/v3/meta.json：文件不存在",
        "refusing to promote v3: /m/v3/meta.json: missing",
    )
    # the English hint itself holds " / " between two commands
    cn, english = halves(
        NoModelError(f"启用中的模型无法使用：{zh}", f"cannot be used: {en}").message
    )
    assert (
        cn.startswith("启用中的模型无法使用：/m/v3/meta.json：文件不存在；请用") and " / " not in cn
    )
    assert english.startswith("cannot be used: /m/v3/meta.json: missing; train one")
    assert "`yuqing init --demo` / `yuqing run --demo`" in english
