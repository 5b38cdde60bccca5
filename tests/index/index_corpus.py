"""The small corpus the index contract suite searches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from yuqing.contracts import IndexDoc


def at(day: int, hour: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def doc(id: int, title: str, text: str, **kw: Any) -> IndexDoc:
    base: dict[str, Any] = {
        "source": "demo-board",
        "category": "环境保护",
        "severity": 1,
        "area": "东湖街道",
        "published_at": at(2),
        "url": f"http://127.0.0.1/posts/{id}",
    }
    base.update(kw)
    return IndexDoc(id=id, title=title, text=text, **base)


CORPUS: list[IndexDoc] = [
    doc(1, "东湖街道污水直排河道", "东湖街道某小区生活污水直排进入河道，居民反映臭味严重。",
        severity=3, published_at=at(1, 17)),  # 2026-11-02 01:00 in Shanghai
    doc(2, "河道发黑发臭", "西湖社区附近河道发黑，疑似有污水排放，夏天臭味更重。",
        area="西湖社区", severity=2, published_at=at(3)),
    doc(3, "夜间施工噪音扰民", "工地夜间施工噪音很大，居民无法入睡。",
        category="城市管理", source="hotline", area="西湖社区", published_at=at(3, 5)),
    doc(4, "菜市场占道经营", "菜市场门口占道经营，交通拥堵。",
        category="城市管理", severity=2, published_at=at(4)),
    doc(5, "化工厂废气排放", "化工厂夜间偷排废气，周边居民头晕恶心，请求尽快处理。",
        severity=4, source="hotline", published_at=at(9)),
    doc(6, "拖欠农民工工资", "某工地拖欠农民工工资三个月，工人聚集讨薪。",
        category="劳动保障", severity=3, area="南湖村", published_at=at(10)),
    doc(7, "小区电梯故障", "小区电梯频繁故障，老人出行不便。<script>alert(1)</script>",
        category="城市管理", published_at=None),
    doc(8, "垃圾清运不及时", "垃圾堆积多日无人清运，气味难闻，污水横流。",
        category="城市管理", published_at=at(16)),
]  # fmt: skip
