from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.run_measurement_sql_body import RunMeasurementSqlBody
from ...models.run_measurement_sql_response_200 import RunMeasurementSqlResponse200
from ...types import Response


def _get_kwargs(
    cell_measurement_id: str,
    *,
    body: RunMeasurementSqlBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/cell_measurements/{cell_measurement_id}/sql".format(
            cell_measurement_id=quote(str(cell_measurement_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | RunMeasurementSqlResponse200 | None:
    if response.status_code == 200:
        response_200 = RunMeasurementSqlResponse200.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | RunMeasurementSqlResponse200]:
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
    body: RunMeasurementSqlBody,
) -> Response[Error | RunMeasurementSqlResponse200]:
    """Local server only: a read-only SQL query over the measurement's tables (time_series, steps, cycles).

     Runs through the same function as the Python client's `detail.sql` (polars' SQL dialect): one
    `SELECT` or `WITH ... SELECT` statement. At most `limit` rows are returned (`truncated` says when
    there were more). A query still running after the server's time limit (10 s unless
    `IONWORKS_SERVER_SQL_TIME_LIMIT_S` says otherwise) is answered with a 400; while two queries are
    running, another gets a 429.

    Args:
        cell_measurement_id (str):
        body (RunMeasurementSqlBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RunMeasurementSqlResponse200]
    """

    kwargs = _get_kwargs(
        cell_measurement_id=cell_measurement_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    cell_measurement_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RunMeasurementSqlBody,
) -> Error | RunMeasurementSqlResponse200 | None:
    """Local server only: a read-only SQL query over the measurement's tables (time_series, steps, cycles).

     Runs through the same function as the Python client's `detail.sql` (polars' SQL dialect): one
    `SELECT` or `WITH ... SELECT` statement. At most `limit` rows are returned (`truncated` says when
    there were more). A query still running after the server's time limit (10 s unless
    `IONWORKS_SERVER_SQL_TIME_LIMIT_S` says otherwise) is answered with a 400; while two queries are
    running, another gets a 429.

    Args:
        cell_measurement_id (str):
        body (RunMeasurementSqlBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RunMeasurementSqlResponse200
    """

    return sync_detailed(
        cell_measurement_id=cell_measurement_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    cell_measurement_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RunMeasurementSqlBody,
) -> Response[Error | RunMeasurementSqlResponse200]:
    """Local server only: a read-only SQL query over the measurement's tables (time_series, steps, cycles).

     Runs through the same function as the Python client's `detail.sql` (polars' SQL dialect): one
    `SELECT` or `WITH ... SELECT` statement. At most `limit` rows are returned (`truncated` says when
    there were more). A query still running after the server's time limit (10 s unless
    `IONWORKS_SERVER_SQL_TIME_LIMIT_S` says otherwise) is answered with a 400; while two queries are
    running, another gets a 429.

    Args:
        cell_measurement_id (str):
        body (RunMeasurementSqlBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RunMeasurementSqlResponse200]
    """

    kwargs = _get_kwargs(
        cell_measurement_id=cell_measurement_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    cell_measurement_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RunMeasurementSqlBody,
) -> Error | RunMeasurementSqlResponse200 | None:
    """Local server only: a read-only SQL query over the measurement's tables (time_series, steps, cycles).

     Runs through the same function as the Python client's `detail.sql` (polars' SQL dialect): one
    `SELECT` or `WITH ... SELECT` statement. At most `limit` rows are returned (`truncated` says when
    there were more). A query still running after the server's time limit (10 s unless
    `IONWORKS_SERVER_SQL_TIME_LIMIT_S` says otherwise) is answered with a 400; while two queries are
    running, another gets a 429.

    Args:
        cell_measurement_id (str):
        body (RunMeasurementSqlBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RunMeasurementSqlResponse200
    """

    return (
        await asyncio_detailed(
            cell_measurement_id=cell_measurement_id,
            client=client,
            body=body,
        )
    ).parsed
