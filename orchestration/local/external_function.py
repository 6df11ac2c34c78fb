"""Local counterpart of the external function raw.render_thumbnail.

Snowflake batches rows and POSTs them to the API Gateway endpoint in the external-function wire
format; this does the same to the render service on loopback, so the service sees exactly the
requests it gets in production.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from snowpark_procs.rendering import RenderRequest


class RenderServiceError(Exception):
    """The render service could not be reached or answered with an error for the whole batch."""


class HttpRenderer:
    def __init__(self, endpoint: str, timeout_s: float = 300.0) -> None:
        self._endpoint = endpoint.rstrip("/") + "/render"
        self._timeout_s = timeout_s

    def render(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
        body = json.dumps(
            {
                "data": [
                    [row, r.relative_path, r.etag, r.sha256, r.size_bytes]
                    for row, r in enumerate(requests)
                ]
            }
        ).encode("utf-8")
        request = urllib.request.Request(
            self._endpoint, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read()[:500].decode("utf-8", "replace")
            raise RenderServiceError(f"render service answered {error.code}: {detail}") from error
        except (OSError, json.JSONDecodeError) as error:
            raise RenderServiceError(
                f"render service unreachable at {self._endpoint}: {error}"
            ) from error
        rows = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(rows, list) or len(rows) != len(requests):
            raise RenderServiceError("render service returned a malformed batch")
        by_row = {row[0]: row[1] for row in rows}
        if sorted(by_row) != list(range(len(requests))):
            raise RenderServiceError("render service returned rows that do not match the request")
        return [by_row[index] for index in range(len(requests))]
