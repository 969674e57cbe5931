"""Reading request bodies: gzip/deflate decoding, size limits, JSON parsing with clear 400s.

Request bodies may be gzip- or deflate-compressed (wire facts §2.2: the official client gzips
bodies of 512 KiB or more). The size limit applies to the *decompressed* bytes, checked while
decompressing, so a small "zip bomb" cannot exhaust memory.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from starlette.requests import Request

from .errors import bad_request, payload_too_large
from .jsonio import json_type

__all__ = ["read_body", "read_json_body"]


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, decompressed, refused with 413 once it grows past ``max_bytes``."""
    declared = request.headers.get("content-length")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise payload_too_large(max_bytes)
    if encoding in ("gzip", "x-gzip"):
        decoder: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    elif encoding in ("identity", ""):
        decoder = None
    else:
        raise bad_request(
            f"Unsupported Content-Encoding {encoding!r}; send the body uncompressed or gzip-compressed",
            header="Content-Encoding",
        )
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            if decoder is not None:
                # Decompress at most one byte past the limit per chunk so a bomb stays small.
                chunk = decoder.decompress(chunk, max_bytes + 1 - size)
                if decoder.unconsumed_tail:
                    raise payload_too_large(max_bytes)
            size += len(chunk)
            if size > max_bytes:
                raise payload_too_large(max_bytes)
            parts.append(chunk)
        if decoder is not None:
            tail = decoder.flush()
            size += len(tail)
            if size > max_bytes:
                raise payload_too_large(max_bytes)
            parts.append(tail)
            if not decoder.eof:
                raise bad_request(
                    f"Request body is not complete {encoding} data; compress the whole JSON body",
                    header="Content-Encoding",
                )
    except zlib.error as exc:
        raise bad_request(
            f"Request body could not be decompressed as {encoding} ({exc}); "
            "check the Content-Encoding header",
            header="Content-Encoding",
        ) from None
    return b"".join(parts)


async def read_json_body(request: Request, max_bytes: int) -> dict[str, Any]:
    """The JSON object in the request body, or a 400 that says what is wrong with it."""
    raw = await read_body(request, max_bytes)
    if not raw.strip():
        raise bad_request("Request body is required: send a JSON object", field="body")
    try:
        # Bare NaN/Infinity tokens (sent by some client paths, wire facts §2.2) become null: JSON
        # has no such values and a PostgreSQL JSON column would refuse them.
        body = json.loads(raw, parse_constant=lambda _token: None)
    except UnicodeDecodeError:
        raise bad_request("Request body is not UTF-8 encoded JSON", field="body") from None
    except json.JSONDecodeError as exc:
        raise bad_request(
            f"Request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field="body",
        ) from None
    if not isinstance(body, dict):
        raise bad_request(
            f"Request body must be a JSON object, not {json_type(body)}", field="body"
        )
    return body
