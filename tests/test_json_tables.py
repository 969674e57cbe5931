"""The JSON tables (``/cycles``, ``/steps_and_cycles``) are decoded straight from the body
(orjson, else json): what orjson refuses but json reads (a ``NaN`` literal) reads as before, and
a body the generated models would refuse is still blamed on the server, never a library error."""

from __future__ import annotations

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
