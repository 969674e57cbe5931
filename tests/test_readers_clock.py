"""The byte-level duration parser (``read._clock``) against the general one, to the bit.

``_clock.duration_seconds`` may only ever return what ``_units.text_duration_seconds`` (polars'
string functions) returns, or None to hand over; these tests generate columns in the layouts
cyclers write and in near misses, and compare the two as raw float bits.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ionworks.data import read
from ionworks.data.read import _clock, _units


def _bits(series: pl.Series) -> list[int]:
    """Each value's IEEE bits (so 0.0 and -0.0, or two roundings, never compare equal)."""
    return [int(b) for b in series.to_numpy().view(np.int64)]


def _general(values: Sequence[str | None]) -> pl.Series:
    frame = pl.DataFrame({"t": list(values)}, schema={"t": pl.String})
    return _units.text_duration_seconds(frame, "t")


def _layout_column(
    rng: random.Random, *, days: bool, pad: int, places: int, rows: int
) -> list[str]:
    """A growing clock column: ``[blanks]Nd hh:mm:ss[.f…]`` or ``H:mm:ss[.f…]``, the leading
    field widening as it grows (9d, then 10d), as a long test's export does."""
    out, seconds = [], rng.randrange(0, 5 * 86400)
    for _ in range(rows):
        seconds += rng.choice([0, 1, 7, 3599, 86399, 10 * 86400])
        fraction = f".{rng.randrange(10**places):0{places}d}" if places else ""
        clock = f"{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if days:
            text = f"{seconds // 86400}d {clock}{fraction}"
        else:
            text = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{fraction}"
        out.append(text)
    if pad:  # right-aligned in a fixed width, as Maccor's padded exports write it
        width = max(len(v) for v in out) + pad
        out = [v.rjust(width) for v in out]
    return out


@pytest.mark.parametrize("days", [True, False])
@pytest.mark.parametrize("pad", [0, 2])
@pytest.mark.parametrize("places", [0, 1, 2, 3, 6, 9])
def test_fixed_layouts_parse_to_the_general_parsers_bits(days: bool, pad: int, places: int) -> None:
    rng = random.Random(f"{days}{pad}{places}")
    values = _layout_column(rng, days=days, pad=pad, places=places, rows=2000)
    fast = _clock.duration_seconds(pl.Series("t", values))
    assert fast is not None, "a column in one layout must take the byte path"
    assert _bits(fast) == _bits(_general(values))


def test_hard_decimals_round_as_the_text_parser_does() -> None:
    # Fractions whose nearest double is a tie-breaking or far-from-exact case.
    fractions = ["000000001", "999999999", "500000000", "100000001", "333333333", "050000001"]
    values = [f"0d 00:00:{s:02d}.{f}" for s in range(60) for f in fractions]
    fast = _clock.duration_seconds(pl.Series("t", values))
    assert fast is not None
    assert _bits(fast) == _bits(_general(values))


@pytest.mark.parametrize(
    "values",
    [
        ["0d 00:00:10.00", None],  # a null
        ["0d 00:00:10.00", ""],  # a blank
        ["0d 00:00:10.00", "0d 00:0a:10.00"],  # a letter in a field
        ["0d 00:00:10.00", "0d 00:00;10.00"],  # another separator
        ["0d 00:00:10.00", " 1 d 00:00:10.00"],  # a blank inside the leading field
        ["0d 00:00:10.00", "   d 00:00:10.00"],  # no digit in the leading field
        ["0d 00:00:10.00", "0d 00:00:10.5"],  # a shorter fraction: another layout
        ["0d 00:00:10.00", "0d 00:00:10.00 "],  # a trailing blank the first value lacks
        ["  0d 00:00:5.05000019073486"],  # 14 decimals: past what is exact here
        ["0d 00:00:12345678.123456789"],  # 17 digits of seconds: ss·10^k + ff rounds
        ["0d 00:00:10.00", "12345678901234567890d 00:00:10.00"],  # days past int64 seconds
        ["12.5", "13"],  # numbers, not clocks
    ],
)
def test_values_out_of_the_first_layout_are_left_to_the_general_parser(
    values: list[str | None],
) -> None:
    assert _clock.duration_seconds(pl.Series("t", values, dtype=pl.String)) is None
    both = _units.duration_seconds(pl.DataFrame({"t": values}, schema={"t": pl.String}), "t")
    assert both.to_list() == _general(values).to_list()


def test_a_width_changing_every_few_rows_goes_to_the_general_parser() -> None:
    values = [("1:00:00" if i % 2 else "10:00:00") for i in range(2 * _clock.MAX_RUNS)]
    assert _clock.duration_seconds(pl.Series("t", values)) is None
    assert _units.duration_seconds(pl.DataFrame({"t": values}), "t").to_list() == (
        _general(values).to_list()
    )


def test_maccor_reads_the_same_frame_with_and_without_the_byte_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(7)
    clock = _layout_column(rng, days=True, pad=0, places=2, rows=3000)
    lines = [
        f"{i + 1}\t0\t{1 + i // 1000}\t{t}\t{0.1 * (i % 50):.1f}\t0.5\t3.{i % 9}\tD"
        for i, t in enumerate(clock)
    ]
    path = tmp_path / "maccor.txt"
    header = "Rec#\tCyc#\tStep\tTestTime\tAmp-hr\tAmps\tVolts\tState\n"
    path.write_text("Today's Date:\t01 March 2024\n" + header + "\n".join(lines) + "\n")
    parse, parsed = _clock.duration_seconds, list[pl.Series | None]()

    def spied(raw: pl.Series) -> pl.Series | None:
        parsed.append(parse(raw))
        return parsed[-1]

    monkeypatch.setattr(_clock, "duration_seconds", spied)
    taken = read.time_series(path)
    assert any(p is not None for p in parsed), "the reader did not take the byte path"
    monkeypatch.setattr(_clock, "duration_seconds", lambda raw: None)
    general = read.time_series(path)
    assert taken.columns == general.columns
    assert all(
        _bits(taken[c]) == _bits(general[c]) for c in taken.columns if taken[c].dtype == pl.Float64
    )
    assert taken.equals(general)


@pytest.mark.parametrize("days", [True, False])
@pytest.mark.parametrize("pad", [0, 2])
def test_a_column_parsed_in_many_pieces_keeps_every_bit(
    days: bool, pad: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pieces of 37 rows: runs of each width are cut at piece edges that fall anywhere in them,
    # and the pieces are shared among threads.
    monkeypatch.setattr(_clock, "PIECE_ROWS", 37)
    values = _layout_column(
        random.Random(f"pieces{days}{pad}"), days=days, pad=pad, places=2, rows=3000
    )
    fast = _clock.duration_seconds(pl.Series("t", values))
    assert fast is not None
    assert _bits(fast) == _bits(_general(values))


@pytest.mark.parametrize("where", [0, 1500, 2999])
def test_a_value_off_the_layout_in_any_piece_hands_the_column_over(
    where: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_clock, "PIECE_ROWS", 37)
    values = [f"0d 00:{i // 60 % 60:02d}:{i % 60:02d}.00" for i in range(3000)]
    values[where] = values[where].replace(":", ";", 1)
    assert _clock.duration_seconds(pl.Series("t", values)) is None


def test_runs_of_one_width_coming_back_share_their_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hours 10 and 9 alternate (a clock restarting each step): each width's layout is built
    # once and used for every run and piece of that width.
    monkeypatch.setattr(_clock, "PIECE_ROWS", 37)
    values = [
        f"{(9 if block % 2 else 10) + i // 3600}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 100:02d}"
        for block in range(10)
        for i in range(0, 60 * 100, 60)
    ]
    fast = _clock.duration_seconds(pl.Series("t", values))
    assert fast is not None
    assert _bits(fast) == _bits(_general(values))
