"""Reading request bodies: gzip/deflate decoding, size limits, JSON parsing with clear 400s.

Request bodies may be gzip- or deflate-compressed (openapi.yaml's description: the official client
gzips bodies of 512 KiB or more). The size limit applies to the *decompressed* bytes, checked while
decompressing, so a small "zip bomb" cannot exhaust memory.

This is the one place bodies are read, so the limits on what a body may hold live here too: the
media type (415 unless ``application/json``, UTF-8), nesting depth, string and number-literal
lengths, and valid Unicode. Each refusal is a 400 naming the problem, never a 500 later on.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request

from .errors import bad_request, payload_too_large, unsupported_media_type
from .jsonio import JSON_MEDIA_TYPE, json_type

__all__ = [
    "MAX_NESTING",
    "MAX_NUMBER_CHARS",
    "MAX_STRING_CHARS",
    "check_json_content_type",
    "format_path",
    "parse_json_object",
    "read_body",
    "read_json_body",
]

MAX_NESTING = 64
"""Deepest array/object nesting a body may have (pipelines, the deepest bodies, use under 10)."""
MAX_STRING_CHARS = 1_000_000
"""Longest string (or object key) anywhere in a body; fields the spec bounds are tighter."""
MAX_NUMBER_CHARS = 100
"""Longest number literal; a float needs under 30 characters, an int64 20."""


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
    """The JSON object in the request body, or a 415/400 that says what is wrong with it."""
    check_json_content_type(request.headers.get("content-type"))
    raw = await read_body(request, max_bytes)
    return parse_json_object(raw)


def check_json_content_type(header: str | None) -> None:
    """415 unless the body is labelled ``application/json`` (optionally ``charset=utf-8``).

    The official client labels every request ``application/json`` (as openapi.yaml requires); a body in
    another media type or charset would otherwise be guessed at (``json.loads`` sniffs UTF-16).
    """
    media_type, _, params = (header or "").partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media_type.strip().lower() == JSON_MEDIA_TYPE and charset in (None, "utf-8", "utf8"):
        return
    sent = f"Content-Type {header!r}" if header else "no Content-Type"
    raise unsupported_media_type(
        f"Request body was sent with {sent}; send JSON as 'application/json' "
        "(UTF-8, optionally gzip-compressed with Content-Encoding: gzip)"
    )


class _Refused(ValueError):
    """A body value over one of the parser's limits; carries the 400's message."""


def _parse_int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _Refused(
            f"a number literal of {len(literal)} characters (the maximum is {MAX_NUMBER_CHARS})"
        )
    return int(literal)


def _parse_float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _Refused(
            f"a number literal of {len(literal)} characters (the maximum is {MAX_NUMBER_CHARS})"
        )
    return float(literal)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode a UTF-8 JSON object within the nesting, string and number limits.

    Every refusal is a 400 naming the problem (and, where known, the field path), so nothing a
    client sends can surface later as an encoding or recursion error.
    """
    if not raw.strip():
        raise bad_request("Request body is required: send a JSON object", field="body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("Request body is not UTF-8 encoded JSON", field="body") from None
    try:
        # Bare NaN/Infinity tokens (some official-client paths send them: Python's json.dumps
        # writes a float NaN that way) become null: JSON has no such values and a PostgreSQL
        # JSON column would refuse them.
        body = json.loads(
            text,
            parse_constant=lambda _token: None,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except RecursionError:  # far deeper than MAX_NESTING; the parser recurses per level
        raise bad_request(
            f"Request body is nested more than {MAX_NESTING} levels deep; flatten the nested "
            "arrays and objects",
            field="body",
        ) from None
    except _Refused as exc:
        raise bad_request(f"Request body has {exc}", field="body") from None
    except json.JSONDecodeError as exc:
        raise bad_request(
            f"Request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field="body",
        ) from None
    if not isinstance(body, dict):
        raise bad_request(
            f"Request body must be a JSON object, not {json_type(body)}", field="body"
        )
    # Lone surrogates can only arrive as \\u escapes (raw ones are not UTF-8), and no string can
    # be over the limit in a shorter text: most bodies skip the per-string checks.
    strings = (
        len(text) > MAX_STRING_CHARS
        or _ESCAPED_SURROGATE.search(text) is not None
        or "\\u0000" in text  # NUL: PostgreSQL text cannot hold it, so no database takes it
    )
    _check_values(body, strings)
    return body


_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_Path = tuple[Any, ...] | None
"""A field path as a linked list ``(parent, key)``: built cheaply, formatted only for an error."""


def format_path(parts: Iterable[Any]) -> str:
    """``separator.name``, ``tags[0]``; ``body`` for the whole body (also used by :mod:`.schema`)."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _format_path(path: _Path) -> str:
    keys: list[Any] = []
    while path is not None:
        path, key = path
        keys.append(key)
    return format_path(reversed(keys))


def _check_values(body: dict[str, Any], strings: bool) -> None:
    """Nesting within :data:`MAX_NESTING`; with ``strings``, every string and key checked too.

    Lists of plain numbers (pipeline data) are skipped after one C-speed type scan, so a large
    body costs little more than its parse.
    """
    nested = (dict, list, str) if strings else (dict, list)
    stack: list[tuple[Any, int, _Path]] = [(body, 1, None)]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_NESTING:
            where = _format_path(path)
            raise bad_request(
                f"Request body is nested more than {MAX_NESTING} levels deep (at '{where}'); "
                "flatten the nested arrays and objects",
                field=where,
            )
        if isinstance(value, dict):
            for key, child in value.items():
                if strings:
                    _check_string(path, key, "a key")
                if isinstance(child, nested):
                    stack.append((child, depth + 1, (path, key)))
        elif isinstance(value, list):
            if not set(map(type, value)).isdisjoint(nested):
                for index, child in enumerate(value):
                    if isinstance(child, nested):
                        stack.append((child, depth + 1, (path, index)))
        else:
            _check_string(path, value, "a string")


def _check_string(path: _Path, value: str, what: str) -> None:
    if len(value) > MAX_STRING_CHARS:
        where = _format_path(path)
        raise bad_request(
            f"Field '{where}' has {what} of {len(value)} characters; the maximum is "
            f"{MAX_STRING_CHARS}",
            field=where,
        )
    if "\x00" in value:
        where = _format_path(path)
        raise bad_request(
            f"Field '{where}' has {what} with the NUL character \\u0000, which cannot be "
            "stored; remove it",
            field=where,
        )
    if not value.isascii():
        found = _SURROGATE.search(value)
        if found:
            where = _format_path(path)
            code = f"\\u{ord(found.group()):04x}"
            raise bad_request(
                f"Field '{where}' has {what} with an unpaired surrogate {code}, which is not "
                "valid Unicode; send well-formed UTF-8 text",
                field=where,
            )
