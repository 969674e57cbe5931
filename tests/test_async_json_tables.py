"""The async ``cycles()`` and ``steps_and_cycles()`` decode their JSON tables as the sync client
does (``_column_tables``, one function for both): a ``NaN`` literal reads, and a body that is not
an object of column objects is blamed on the server, through the cache or around it."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_json_tables
from test_faults import ScriptedServer

from ionworks import AsyncIonworks, IonworksError
from ionworks import _column_tables as column_tables
from ionworks._dataframe import decode_json

pytestmark = pytest.mark.anyio
MID = "0b7f3a52-94c1-4e0e-8a57-2f1d6c9e4b13"
CYCLES = b'{"Cycle number": [1, 2], "Discharge capacity [A.h]": [0.5, NaN]}'


serve = test_json_tables.serve  # the sync tests' fixture: a server answering one JSON body


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client_for(server: ScriptedServer, cache: Path) -> AsyncIonworks:
    return AsyncIonworks(api_key="secret-key-123", api_url=server.url, cache_dir=cache)


@pytest.mark.parametrize("use_cache", [False, True], ids=["uncached", "cached"])
async def test_a_nan_literal_reads_in_cycles_and_steps_and_cycles(
    serve: Callable[[bytes], ScriptedServer], tmp_path: Path, use_cache: bool
) -> None:
    server = serve(b'{"cycles": ' + CYCLES + b"}")
    async with client_for(server, tmp_path) as client:
        cycles: Any = await client.cell_measurement.cycles(MID, use_cache=use_cache)
    assert cycles["Cycle number"].to_list() == [1, 2]
    capacity = cycles["Discharge capacity [A.h]"].to_list()
    assert capacity[0] == 0.5 and math.isnan(capacity[1])
    both = serve(b'{"steps": {"Step count": [0, 1]}, "cycles": ' + CYCLES + b"}")
    async with client_for(both, tmp_path / "both") as client:
        steps, again = await client.cell_measurement.steps_and_cycles(MID, use_cache=use_cache)
    assert steps["Step count"].to_list() == [0, 1] and again["Cycle number"].to_list() == [1, 2]


@pytest.mark.parametrize("use_cache", [False, True], ids=["uncached", "cached"])
@pytest.mark.parametrize(
    "body",
    [b"<html>proxy page</html>", b'{"steps": {}}', b'{"cycles": null}', b'{"cycles": [1, 2]}'],
    ids=["not-json", "no-cycles-key", "null-table", "list-table"],
)
async def test_a_table_body_that_does_not_parse_is_blamed_on_the_server(
    serve: Callable[[bytes], ScriptedServer], tmp_path: Path, body: bytes, use_cache: bool
) -> None:
    """Before the shared decoding, a null or missing table was an empty frame here (the sync
    client raised) and a list of numbers a library error."""
    server = serve(body)
    async with client_for(server, tmp_path) as client:
        with pytest.raises(IonworksError, match="could not understand"):
            await client.cell_measurement.cycles(MID, use_cache=use_cache)
        with pytest.raises(IonworksError, match="could not understand"):
            await client.cell_measurement.steps_and_cycles(MID, use_cache=use_cache)


@pytest.mark.parametrize("use_cache", [False, True], ids=["uncached", "cached"])
async def test_the_tables_are_decoded_by_the_sync_clients_function(
    serve: Callable[[bytes], ScriptedServer],
    tmp_path: Path,
    use_cache: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One decoding for both clients (orjson straight into columns): the generated models'
    parser, most of the CPU of a cycles table, is not what reads the body (it was before)."""
    decoded: list[bytes] = []

    def counted(content: bytes) -> Any:
        decoded.append(content)
        return decode_json(content)

    monkeypatch.setattr(column_tables, "decode_json", counted)
    body = b'{"steps": {"Step count": [0]}, "cycles": ' + CYCLES + b"}"
    server = serve(body)
    async with client_for(server, tmp_path) as client:
        await client.cell_measurement.cycles(MID, use_cache=use_cache)
        await client.cell_measurement.steps_and_cycles(MID, use_cache=use_cache)
    assert decoded == [body, body]
