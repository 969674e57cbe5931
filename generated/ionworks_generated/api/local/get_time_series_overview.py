from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.get_time_series_overview_response_200 import (
    GetTimeSeriesOverviewResponse200,
)
from ...types import UNSET, Response, Unset


def _get_kwargs(
    cell_measurement_id: str,
    *,
    points: int | Unset = 1000,
    start: float | Unset = UNSET,
    end: float | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["points"] = points

    params["start"] = start

    params["end"] = end

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/cell_measurements/{cell_measurement_id}/time_series/overview".format(
            cell_measurement_id=quote(str(cell_measurement_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | GetTimeSeriesOverviewResponse200 | None:
    if response.status_code == 200:
        response_200 = GetTimeSeriesOverviewResponse200.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | GetTimeSeriesOverviewResponse200]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    cell_measurement_id: str,
    *,
    client: AuthenticatedClient | Client,
    points: int | Unset = 1000,
    start: float | Unset = UNSET,
    end: float | Unset = UNSET,
) -> Response[Error | GetTimeSeriesOverviewResponse200]:
    """Local server only: the time series decimated for plotting, and signed links to the measurement's
    parquet files.

     What the browser viewer (`/viewer/`) draws first. Voltage, current and temperature (those the file
    has) are reduced to at most `points` points each: consecutive rows are cut into `points / 2` buckets
    and each keeps the rows holding its minimum and maximum. `start` and `end` restrict the rows to a
    time window first. The `files` links are signed storage paths (no host): relative to the API's own
    origin.

    Args:
        cell_measurement_id (str):
        points (int | Unset):  Default: 1000.
        start (float | Unset):
        end (float | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | GetTimeSeriesOverviewResponse200]
    """

    kwargs = _get_kwargs(
        cell_measurement_id=cell_measurement_id,
        points=points,
        start=start,
        end=end,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    cell_measurement_id: str,
    *,
    client: AuthenticatedClient | Client,
    points: int | Unset = 1000,
    start: float | Unset = UNSET,
    end: float | Unset = UNSET,
) -> Error | GetTimeSeriesOverviewResponse200 | None:
    """Local server only: the time series decimated for plotting, and signed links to the measurement's
    parquet files.

     What the browser viewer (`/viewer/`) draws first. Voltage, current and temperature (those the file
    has) are reduced to at most `points` points each: consecutive rows are cut into `points / 2` buckets
    and each keeps the rows holding its minimum and maximum. `start` and `end` restrict the rows to a
    time window first. The `files` links are signed storage paths (no host): relative to the API's own
    origin.

    Args:
        cell_measurement_id (str):
        points (int | Unset):  Default: 1000.
        start (float | Unset):
        end (float | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | GetTimeSeriesOverviewResponse200
    """

    return sync_detailed(
        cell_measurement_id=cell_measurement_id,
        client=client,
        points=points,
        start=start,
        end=end,
    ).parsed


async def asyncio_detailed(
    cell_measurement_id: str,
    *,
    client: AuthenticatedClient | Client,
    points: int | Unset = 1000,
    start: float | Unset = UNSET,
    end: float | Unset = UNSET,
) -> Response[Error | GetTimeSeriesOverviewResponse200]:
    """Local server only: the time series decimated for plotting, and signed links to the measurement's
    parquet files.

     What the browser viewer (`/viewer/`) draws first. Voltage, current and temperature (those the file
    has) are reduced to at most `points` points each: consecutive rows are cut into `points / 2` buckets
    and each keeps the rows holding its minimum and maximum. `start` and `end` restrict the rows to a
    time window first. The `files` links are signed storage paths (no host): relative to the API's own
    origin.

    Args:
        cell_measurement_id (str):
        points (int | Unset):  Default: 1000.
        start (float | Unset):
        end (float | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | GetTimeSeriesOverviewResponse200]
    """

    kwargs = _get_kwargs(
        cell_measurement_id=cell_measurement_id,
        points=points,
        start=start,
        end=end,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    cell_measurement_id: str,
    *,
    client: AuthenticatedClient | Client,
    points: int | Unset = 1000,
    start: float | Unset = UNSET,
    end: float | Unset = UNSET,
) -> Error | GetTimeSeriesOverviewResponse200 | None:
    """Local server only: the time series decimated for plotting, and signed links to the measurement's
    parquet files.

     What the browser viewer (`/viewer/`) draws first. Voltage, current and temperature (those the file
    has) are reduced to at most `points` points each: consecutive rows are cut into `points / 2` buckets
    and each keeps the rows holding its minimum and maximum. `start` and `end` restrict the rows to a
    time window first. The `files` links are signed storage paths (no host): relative to the API's own
    origin.

    Args:
        cell_measurement_id (str):
        points (int | Unset):  Default: 1000.
        start (float | Unset):
        end (float | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | GetTimeSeriesOverviewResponse200
    """

    return (
        await asyncio_detailed(
            cell_measurement_id=cell_measurement_id,
            client=client,
            points=points,
            start=start,
            end=end,
        )
    ).parsed
