"""The files of file measurements, part of ``client.cell_measurement``, through the cache.

The file list and each file are cache entries of the measurement (:meth:`Artifacts.file_names`,
:meth:`Artifacts.file`), so a second ``download_files`` makes no request, offline mode serves
them, and a changed ``updated_at`` (seen by ``detail()``), an update or a delete drops them as it
drops the tables. Downloads run on a few threads, as in the official client.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from .._artifacts import MeasurementData
from ..errors import InvalidParameterError
from ._base import ResourceAPI

FILE_THREADS: Final = 4


class MeasurementFiles(ResourceAPI):
    """``download_files`` of ``client.cell_measurement``."""

    def download_files(
        self,
        measurement_id: str,
        use_cache: bool = True,
        filenames: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, bytes]:
        """The files of a file measurement, by name: from the cache when there, else
        downloaded and cached. ``filenames`` picks some (and skips listing them).

        A second call makes no request. The cached files are dropped when the measurement
        changes: by ``update``/``delete`` through this client, or when ``detail()`` sees a new
        ``updated_at`` (the first listing caches the metadata it compares with)."""
        from ionworks_generated.api.cell_measurements import (
            get_cell_measurement,
            list_measurement_files,
        )

        data: MeasurementData = self._client._measurement_data

        def listed() -> list[str]:
            # Cache the metadata with the list: the updated_at a later detail() compares with.
            data.artifacts.metadata(
                measurement_id,
                lambda: self._parsed(get_cell_measurement, measurement_id, timeout=timeout),
                use_cache=use_cache,
            )
            body = self._parsed(list_measurement_files, measurement_id, timeout=timeout)
            return list(body["filenames"])

        if filenames is None:
            names = data.artifacts.file_names(measurement_id, listed, use_cache=use_cache)
        else:
            names = chosen_names(filenames)
        if len(names) <= 1:
            return {name: self._file(measurement_id, name, use_cache, timeout) for name in names}
        with ThreadPoolExecutor(min(len(names), FILE_THREADS), "ionworks-files") as pool:
            futures = {
                name: pool.submit(self._file, measurement_id, name, use_cache, timeout)
                for name in names
            }
            return {name: future.result() for name, future in futures.items()}

    def _file(
        self, measurement_id: str, name: str, use_cache: bool, timeout: float | None
    ) -> bytes:
        from ionworks_generated.api.cell_measurements import download_measurement_file

        data: MeasurementData = self._client._measurement_data

        def fetch() -> bytes:
            response = self._call(download_measurement_file, measurement_id, name, timeout=timeout)
            return data.transfer.body(
                response, what=f"file {name} of {measurement_id}", timeout=timeout
            )

        return data.artifacts.file(measurement_id, name, fetch, use_cache=use_cache)


def chosen_names(filenames: Sequence[str]) -> list[str]:
    """The distinct names asked for (both clients); a bare string is a mistake, not one name."""
    if isinstance(filenames, str) or not all(isinstance(n, str) for n in filenames):
        raise InvalidParameterError(
            f"filenames={filenames!r} must be a list of file names (or None for all)"
        )
    return list(dict.fromkeys(filenames))


__all__ = ["FILE_THREADS", "MeasurementFiles", "chosen_names"]
