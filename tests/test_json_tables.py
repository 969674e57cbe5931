"""The JSON tables (``/cycles``, ``/steps_and_cycles``) are decoded straight from the body
(orjson, else json): what orjson refuses but json reads (a ``NaN`` literal) reads as before, and
a body the generated models would refuse is still blamed on the server, never a library error."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from test_faults import ScriptedServer, client_for, send

from ionworks import IonworksError
from ionworks._dataframe import decode_json

MID = "0b7f3a52-94c1-4e0e-8a57-2f1d6c9e4b13"
CYCLES = b'{"Cycle number": [1, 2], "Discharge capacity [A.h]": [0.5, NaN]}'


@pytest.fixture
def serve() -> Iterator[Callable[[bytes], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(body: bytes) -> ScriptedServer:
        def script(handler: BaseHTTPRequestHandler, n: int) -> None:
            send(handler, 200, body, Content_Type="application/json")

        servers.append(ScriptedServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_a_nan_literal_orjson_refuses_reads_as_json_reads_it(
    serve: Callable[[bytes], ScriptedServer], tmp_path: Path
) -> None:
    assert math.isnan(decode_json(b"[NaN]")[0])
    assert decode_json(b'{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}
    server = serve(b'{"cycles": ' + CYCLES + b"}")
    cycles: Any = client_for(server.url, cache_dir=tmp_path).cell_measurement.cycles(
        MID, use_cache=False
    )
    assert cycles["Cycle number"].to_list() == [1, 2]
    capacity = cycles["Discharge capacity [A.h]"].to_list()
    assert capacity[0] == 0.5 and math.isnan(capacity[1])
    both = serve(b'{"steps": {"Step count": [0, 1]}, "cycles": ' + CYCLES + b"}")
    steps, again = client_for(both.url, cache_dir=tmp_path).cell_measurement.steps_and_cycles(
        MID, use_cache=False
    )
    assert steps["Step count"].to_list() == [0, 1] and again["Cycle number"].to_list() == [1, 2]


@pytest.mark.parametrize(
    "body",
    [b"<html>proxy page</html>", b'{"steps": {}}', b'{"cycles": null}', b'{"cycles": [1, 2]}'],
    ids=["not-json", "no-cycles-key", "null-table", "list-table"],
)
def test_a_table_body_that_does_not_parse_is_blamed_on_the_server(
    serve: Callable[[bytes], ScriptedServer], tmp_path: Path, body: bytes
) -> None:
    server = serve(body)
    client = client_for(server.url, cache_dir=tmp_path)
    with pytest.raises(IonworksError, match="could not understand"):
        client.cell_measurement.cycles(MID, use_cache=False)


@pytest.mark.parametrize(
    "body",
    [
        b"[NaN, Infinity, -Infinity]",
        b"[1e400, -1e400]",
        b'["\\ud800"]',
        b"\xef\xbb\xbf[1]",
        '["é"]'.encode("utf-16"),
        b"[18446744073709551615, -9223372036854775808, 0.1, 5e-324, -0.0]",
    ],
    ids=["nan-inf", "overflow", "lone-surrogate", "bom", "utf-16", "64-bit-edges"],
)
def test_what_orjson_refuses_or_reads_decodes_as_json_reads_it(body: bytes) -> None:
    """Values and types alike (``repr``: ``nan``, ``inf``, ints kept ints) for every body
    :mod:`json` reads and orjson refuses, and for the 64-bit integer edges orjson reads."""
    assert repr(decode_json(body)) == repr(json.loads(body))


def test_an_integer_beyond_64_bits_is_the_one_value_decoded_differently() -> None:
    """The difference ``decode_json``'s docstring admits: fails (and the docstring is then
    wrong) if orjson starts refusing such integers or this module starts reading them exactly."""
    body = b"[18446744073709551616, -9223372036854775809]"
    assert repr(json.loads(body)) == repr([2**64, -(2**63) - 1])
    assert repr(decode_json(body)) == repr([float(2**64), float(-(2**63) - 1)])
