"""Figure 1: classification throughput against plain jieba segmentation of the same texts."""

from __future__ import annotations

from bench.common import (
    Row,
    bench_model,
    data_note,
    median_time,
    messages,
    mib,
    peak_python_memory,
    rate,
    say,
)


def run(quick: bool) -> list[Row]:
    import jieba

    n, n_single, repeats = (200, 50, 1) if quick else (2000, 300, 3)
    msgs = messages(n)
    model = bench_model()
    titles = [m.title for m in msgs]
    bodies = [m.body for m in msgs]
    texts = [m.text for m in msgs]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    jieba.setLogLevel(60)
    jieba.initialize()
    model.classify_many(titles[:5], bodies[:5])  # warm caches outside the timing

    say(f"classify: classify_many vs jieba.lcut over {n} messages, {repeats}×")
    t_ref = median_time(lambda _: [jieba.lcut(t) for t in texts], repeats)
    t_ours = median_time(lambda _: model.classify_many(titles, bodies), repeats)

    few = slice(0, n_single)
    say(f"classify: single-post classify vs classify_many over {n_single} messages")
    t_single = median_time(
        lambda _: [model.classify(t, b) for t, b in zip(titles[few], bodies[few], strict=True)],
        repeats,
    )
    t_batch = median_time(lambda _: model.classify_many(titles[few], bodies[few]), repeats)

    say("classify: peak Python memory, classify_many vs jieba.lcut")
    mem_ours = peak_python_memory(lambda: model.classify_many(titles, bodies))
    mem_ref = peak_python_memory(lambda: [jieba.lcut(t) for t in texts])

    src = data_note(f"{n} hot-issue messages, {mb:.2f} MB")
    return [
        Row(
            "classify_many throughput",
            rate(n, t_ours, " posts/s"),
            rate(n, t_ref, " posts/s") + " (jieba.lcut)",
            t_ours / t_ref,
            f"ratio = our time / segmentation time; {src}; jieba.lcut {mb / t_ref:.2f} MB/s",
        ),
        Row(
            "classify one post at a time",
            rate(n_single, t_single, " posts/s"),
            rate(n_single, t_batch, " posts/s") + " (classify_many)",
            t_single / t_batch,
            f"ratio = per-post time of classify / of one classify_many call; {n_single} posts",
        ),
        Row(
            "classify_many peak memory",
            mib(mem_ours),
            mib(mem_ref) + " (jieba.lcut, tokens kept)",
            mem_ours / mem_ref,
            f"tracemalloc peak over {n} posts in one call",
        ),
    ]
