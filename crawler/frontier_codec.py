"""How requests are written into the shared Redis frontier: JSON, not pickle.

scrapy-redis pickles requests by default, and unpickling runs whatever the data
says: anyone able to write to Redis could run code in every crawler worker. This
module (``SCHEDULER_SERIALIZER``) writes :meth:`scrapy.Request.to_dict` as JSON,
with bytes and non-string dict keys tagged, and refuses on reading anything a
yuqing spider would not have written (another request class, a callback that is
not a spider's parse method).
"""

from __future__ import annotations

import base64
import json
from typing import Any

# what yuqing spiders use as callbacks and errbacks (crawler/spiders)
_CALLBACK_PREFIX = "parse"
_ERRBACKS = frozenset({"failed"})
_REQUEST_CLASSES = frozenset(
    {"scrapy.http.request.Request", "scrapy.http.request.json_request.JsonRequest"}
)


class FrontierDataError(ValueError):
    """A frontier entry that is not a request a yuqing spider wrote."""


def _pack(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return {"__b64": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and "__b64" not in obj and "__kv" not in obj:
            return {k: _pack(v) for k, v in obj.items()}
        return {"__kv": [[_pack(k), _pack(v)] for k, v in obj.items()]}
    if isinstance(obj, list | tuple):
        return [_pack(v) for v in obj]
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    raise TypeError(f"cannot put a {type(obj).__name__} into the frontier: {obj!r}")


def _unpack(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__b64"}:
            return base64.b64decode(obj["__b64"])
        if set(obj) == {"__kv"}:
            return {_unpack(k): _unpack(v) for k, v in obj["__kv"]}
        return {k: _unpack(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unpack(v) for v in obj]
    return obj


def dumps(request_dict: dict[str, Any]) -> str:
    return json.dumps(_pack(request_dict), ensure_ascii=False, separators=(",", ":"))


def loads(data: str | bytes) -> dict[str, Any]:
    try:
        obj = _unpack(json.loads(data))
    except (ValueError, TypeError, KeyError) as exc:
        raise FrontierDataError(f"not a frontier request: {exc}") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("url"), str):
        raise FrontierDataError("not a frontier request: no url")
    cls = obj.get("_class")
    if cls is not None and cls not in _REQUEST_CLASSES:
        raise FrontierDataError(f"request class {cls!r} is not allowed in the frontier")
    callback, errback = obj.get("callback"), obj.get("errback")
    if callback is not None and not str(callback).startswith(_CALLBACK_PREFIX):
        raise FrontierDataError(f"callback {callback!r} is not a spider's parse method")
    if errback is not None and errback not in _ERRBACKS:
        raise FrontierDataError(f"errback {errback!r} is not allowed")
    return obj
