"""Alert rules from config/alerts.yaml. Each rule yields a tier and a reason, or nothing."""

from __future__ import annotations

from dataclasses import dataclass

from store.models import Post
from yuqing.contracts import TIER_LABELS_ZH, tier_name
from yuqing.settings import Rule


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    tier: int
    reason: str


def evaluate_post(rules: list[Rule], post: Post) -> list[Finding]:
    out: list[Finding] = []
    body = f"{post.title}\n{post.text}"
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.kind == "single_post" and post.severity >= rule.min_tier:
            label = f"{tier_name(post.severity)} {TIER_LABELS_ZH[post.severity]}"
            why = "；".join(post.reasons[:3]) if post.reasons else ""
            out.append(
                Finding(rule.name, post.severity, f"单帖分级 {label}" + (f"：{why}" if why else ""))
            )
        elif rule.kind == "keyword":
            hits = [k for k in rule.keywords if k in body]
            if hits:
                tier = rule.tier or post.severity
                out.append(
                    Finding(rule.name, max(tier, post.severity), "关注词命中：" + "、".join(hits))
                )
    return out
