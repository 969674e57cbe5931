from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cell_measurement_page import CellMeasurementPage
from ...models.error import Error
from ...models.measurement_order_by import MeasurementOrderBy
from ...models.measurement_type import MeasurementType
from ...models.sort_order import SortOrder
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    project_id: str | Unset = UNSET,
    limit: int | Unset = 25,
    offset: int | Unset = 0,
    q: str | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["project_id"] = project_id

    params["limit"] = limit

    params["offset"] = offset

    params["q"] = q

    json_measurement_type: str | Unset = UNSET
    if not isinstance(measurement_type, Unset):
        json_measurement_type = measurement_type.value

    params["measurement_type"] = json_measurement_type

    json_tags_all: list[str] | Unset = UNSET
    if not isinstance(tags_all, Unset):
        json_tags_all = tags_all

    params["tags_all"] = json_tags_all

    json_tags_any: list[str] | Unset = UNSET
    if not isinstance(tags_any, Unset):
        json_tags_any = tags_any

    params["tags_any"] = json_tags_any

    json_order: str | Unset = UNSET
    if not isinstance(order, Unset):
        json_order = order.value

    params["order"] = json_order

    json_order_by: str | Unset = UNSET
    if not isinstance(order_by, Unset):
        json_order_by = order_by.value

    params["order_by"] = json_order_by

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/cell_measurements",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CellMeasurementPage | Error | None:
    if response.status_code == 200:
        response_200 = CellMeasurementPage.from_dict(response.json())

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

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CellMeasurementPage | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    project_id: str | Unset = UNSET,
    limit: int | Unset = 25,
    offset: int | Unset = 0,
    q: str | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
) -> Response[CellMeasurementPage | Error]:
    """List every measurement of a project, across all its cells, filtered, ordered and paginated.

    Args:
        project_id (str | Unset):
        limit (int | Unset):  Default: 25.
        offset (int | Unset):  Default: 0.
        q (str | Unset):
        measurement_type (MeasurementType | Unset):
        tags_all (list[str] | Unset):
        tags_any (list[str] | Unset):
        order (SortOrder | Unset):
        order_by (MeasurementOrderBy | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellMeasurementPage | Error]
    """

    kwargs = _get_kwargs(
        project_id=project_id,
        limit=limit,
        offset=offset,
        q=q,
        measurement_type=measurement_type,
        tags_all=tags_all,
        tags_any=tags_any,
        order=order,
        order_by=order_by,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    project_id: str | Unset = UNSET,
    limit: int | Unset = 25,
    offset: int | Unset = 0,
    q: str | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
) -> CellMeasurementPage | Error | None:
    """List every measurement of a project, across all its cells, filtered, ordered and paginated.

    Args:
        project_id (str | Unset):
        limit (int | Unset):  Default: 25.
        offset (int | Unset):  Default: 0.
        q (str | Unset):
        measurement_type (MeasurementType | Unset):
        tags_all (list[str] | Unset):
        tags_any (list[str] | Unset):
        order (SortOrder | Unset):
        order_by (MeasurementOrderBy | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellMeasurementPage | Error
    """

    return sync_detailed(
        client=client,
        project_id=project_id,
        limit=limit,
        offset=offset,
        q=q,
        measurement_type=measurement_type,
        tags_all=tags_all,
        tags_any=tags_any,
        order=order,
        order_by=order_by,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    project_id: str | Unset = UNSET,
    limit: int | Unset = 25,
    offset: int | Unset = 0,
    q: str | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
) -> Response[CellMeasurementPage | Error]:
    """List every measurement of a project, across all its cells, filtered, ordered and paginated.

    Args:
        project_id (str | Unset):
        limit (int | Unset):  Default: 25.
        offset (int | Unset):  Default: 0.
        q (str | Unset):
        measurement_type (MeasurementType | Unset):
        tags_all (list[str] | Unset):
        tags_any (list[str] | Unset):
        order (SortOrder | Unset):
        order_by (MeasurementOrderBy | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellMeasurementPage | Error]
    """

    kwargs = _get_kwargs(
        project_id=project_id,
        limit=limit,
        offset=offset,
        q=q,
        measurement_type=measurement_type,
        tags_all=tags_all,
        tags_any=tags_any,
        order=order,
        order_by=order_by,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    project_id: str | Unset = UNSET,
    limit: int | Unset = 25,
    offset: int | Unset = 0,
    q: str | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
) -> CellMeasurementPage | Error | None:
    """List every measurement of a project, across all its cells, filtered, ordered and paginated.

    Args:
        project_id (str | Unset):
        limit (int | Unset):  Default: 25.
        offset (int | Unset):  Default: 0.
        q (str | Unset):
        measurement_type (MeasurementType | Unset):
        tags_all (list[str] | Unset):
        tags_any (list[str] | Unset):
        order (SortOrder | Unset):
        order_by (MeasurementOrderBy | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellMeasurementPage | Error
    """

    return (
        await asyncio_detailed(
            client=client,
            project_id=project_id,
            limit=limit,
            offset=offset,
            q=q,
            measurement_type=measurement_type,
            tags_all=tags_all,
            tags_any=tags_any,
            order=order,
            order_by=order_by,
        )
    ).parsed
