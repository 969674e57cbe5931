from http import HTTPStatus
from typing import Any
from urllib.parse import quote

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
    cell_instance_id: str,
    *,
    limit: int | Unset = 1000,
    offset: int | Unset = 0,
    name: str | Unset = UNSET,
    created_by_email: str | Unset = UNSET,
    created_at_gt: str | Unset = UNSET,
    created_at_lt: str | Unset = UNSET,
    updated_at_gt: str | Unset = UNSET,
    updated_at_lt: str | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    start_time_gt: str | Unset = UNSET,
    start_time_lt: str | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["offset"] = offset

    params["name"] = name

    params["created_by_email"] = created_by_email

    params["created_at_gt"] = created_at_gt

    params["created_at_lt"] = created_at_lt

    params["updated_at_gt"] = updated_at_gt

    params["updated_at_lt"] = updated_at_lt

    json_order: str | Unset = UNSET
    if not isinstance(order, Unset):
        json_order = order.value

    params["order"] = json_order

    json_order_by: str | Unset = UNSET
    if not isinstance(order_by, Unset):
        json_order_by = order_by.value

    params["order_by"] = json_order_by

    json_measurement_type: str | Unset = UNSET
    if not isinstance(measurement_type, Unset):
        json_measurement_type = measurement_type.value

    params["measurement_type"] = json_measurement_type

    params["start_time_gt"] = start_time_gt

    params["start_time_lt"] = start_time_lt

    json_tags_all: list[str] | Unset = UNSET
    if not isinstance(tags_all, Unset):
        json_tags_all = tags_all

    params["tags_all"] = json_tags_all

    json_tags_any: list[str] | Unset = UNSET
    if not isinstance(tags_any, Unset):
        json_tags_any = tags_any

    params["tags_any"] = json_tags_any

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/cell_instances/{cell_instance_id}/cell_measurements".format(
            cell_instance_id=quote(str(cell_instance_id), safe=""),
        ),
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
    cell_instance_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 1000,
    offset: int | Unset = 0,
    name: str | Unset = UNSET,
    created_by_email: str | Unset = UNSET,
    created_at_gt: str | Unset = UNSET,
    created_at_lt: str | Unset = UNSET,
    updated_at_gt: str | Unset = UNSET,
    updated_at_lt: str | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    start_time_gt: str | Unset = UNSET,
    start_time_lt: str | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
) -> Response[CellMeasurementPage | Error]:
    """List the measurements of a cell instance, filtered, ordered and paginated on the server.

    Args:
        cell_instance_id (str):
        limit (int | Unset):  Default: 1000.
        offset (int | Unset):  Default: 0.
        name (str | Unset):
        created_by_email (str | Unset):
        created_at_gt (str | Unset):
        created_at_lt (str | Unset):
        updated_at_gt (str | Unset):
        updated_at_lt (str | Unset):
        order (SortOrder | Unset):
        order_by (MeasurementOrderBy | Unset):
        measurement_type (MeasurementType | Unset):
        start_time_gt (str | Unset):
        start_time_lt (str | Unset):
        tags_all (list[str] | Unset):
        tags_any (list[str] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellMeasurementPage | Error]
    """

    kwargs = _get_kwargs(
        cell_instance_id=cell_instance_id,
        limit=limit,
        offset=offset,
        name=name,
        created_by_email=created_by_email,
        created_at_gt=created_at_gt,
        created_at_lt=created_at_lt,
        updated_at_gt=updated_at_gt,
        updated_at_lt=updated_at_lt,
        order=order,
        order_by=order_by,
        measurement_type=measurement_type,
        start_time_gt=start_time_gt,
        start_time_lt=start_time_lt,
        tags_all=tags_all,
        tags_any=tags_any,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    cell_instance_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 1000,
    offset: int | Unset = 0,
    name: str | Unset = UNSET,
    created_by_email: str | Unset = UNSET,
    created_at_gt: str | Unset = UNSET,
    created_at_lt: str | Unset = UNSET,
    updated_at_gt: str | Unset = UNSET,
    updated_at_lt: str | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    start_time_gt: str | Unset = UNSET,
    start_time_lt: str | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
) -> CellMeasurementPage | Error | None:
    """List the measurements of a cell instance, filtered, ordered and paginated on the server.

    Args:
        cell_instance_id (str):
        limit (int | Unset):  Default: 1000.
        offset (int | Unset):  Default: 0.
        name (str | Unset):
        created_by_email (str | Unset):
        created_at_gt (str | Unset):
        created_at_lt (str | Unset):
        updated_at_gt (str | Unset):
        updated_at_lt (str | Unset):
        order (SortOrder | Unset):
        order_by (MeasurementOrderBy | Unset):
        measurement_type (MeasurementType | Unset):
        start_time_gt (str | Unset):
        start_time_lt (str | Unset):
        tags_all (list[str] | Unset):
        tags_any (list[str] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellMeasurementPage | Error
    """

    return sync_detailed(
        cell_instance_id=cell_instance_id,
        client=client,
        limit=limit,
        offset=offset,
        name=name,
        created_by_email=created_by_email,
        created_at_gt=created_at_gt,
        created_at_lt=created_at_lt,
        updated_at_gt=updated_at_gt,
        updated_at_lt=updated_at_lt,
        order=order,
        order_by=order_by,
        measurement_type=measurement_type,
        start_time_gt=start_time_gt,
        start_time_lt=start_time_lt,
        tags_all=tags_all,
        tags_any=tags_any,
    ).parsed


async def asyncio_detailed(
    cell_instance_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 1000,
    offset: int | Unset = 0,
    name: str | Unset = UNSET,
    created_by_email: str | Unset = UNSET,
    created_at_gt: str | Unset = UNSET,
    created_at_lt: str | Unset = UNSET,
    updated_at_gt: str | Unset = UNSET,
    updated_at_lt: str | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    start_time_gt: str | Unset = UNSET,
    start_time_lt: str | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
) -> Response[CellMeasurementPage | Error]:
    """List the measurements of a cell instance, filtered, ordered and paginated on the server.

    Args:
        cell_instance_id (str):
        limit (int | Unset):  Default: 1000.
        offset (int | Unset):  Default: 0.
        name (str | Unset):
        created_by_email (str | Unset):
        created_at_gt (str | Unset):
        created_at_lt (str | Unset):
        updated_at_gt (str | Unset):
        updated_at_lt (str | Unset):
        order (SortOrder | Unset):
        order_by (MeasurementOrderBy | Unset):
        measurement_type (MeasurementType | Unset):
        start_time_gt (str | Unset):
        start_time_lt (str | Unset):
        tags_all (list[str] | Unset):
        tags_any (list[str] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellMeasurementPage | Error]
    """

    kwargs = _get_kwargs(
        cell_instance_id=cell_instance_id,
        limit=limit,
        offset=offset,
        name=name,
        created_by_email=created_by_email,
        created_at_gt=created_at_gt,
        created_at_lt=created_at_lt,
        updated_at_gt=updated_at_gt,
        updated_at_lt=updated_at_lt,
        order=order,
        order_by=order_by,
        measurement_type=measurement_type,
        start_time_gt=start_time_gt,
        start_time_lt=start_time_lt,
        tags_all=tags_all,
        tags_any=tags_any,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    cell_instance_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 1000,
    offset: int | Unset = 0,
    name: str | Unset = UNSET,
    created_by_email: str | Unset = UNSET,
    created_at_gt: str | Unset = UNSET,
    created_at_lt: str | Unset = UNSET,
    updated_at_gt: str | Unset = UNSET,
    updated_at_lt: str | Unset = UNSET,
    order: SortOrder | Unset = UNSET,
    order_by: MeasurementOrderBy | Unset = UNSET,
    measurement_type: MeasurementType | Unset = UNSET,
    start_time_gt: str | Unset = UNSET,
    start_time_lt: str | Unset = UNSET,
    tags_all: list[str] | Unset = UNSET,
    tags_any: list[str] | Unset = UNSET,
) -> CellMeasurementPage | Error | None:
    """List the measurements of a cell instance, filtered, ordered and paginated on the server.

    Args:
        cell_instance_id (str):
        limit (int | Unset):  Default: 1000.
        offset (int | Unset):  Default: 0.
        name (str | Unset):
        created_by_email (str | Unset):
        created_at_gt (str | Unset):
        created_at_lt (str | Unset):
        updated_at_gt (str | Unset):
        updated_at_lt (str | Unset):
        order (SortOrder | Unset):
        order_by (MeasurementOrderBy | Unset):
        measurement_type (MeasurementType | Unset):
        start_time_gt (str | Unset):
        start_time_lt (str | Unset):
        tags_all (list[str] | Unset):
        tags_any (list[str] | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellMeasurementPage | Error
    """

    return (
        await asyncio_detailed(
            cell_instance_id=cell_instance_id,
            client=client,
            limit=limit,
            offset=offset,
            name=name,
            created_by_email=created_by_email,
            created_at_gt=created_at_gt,
            created_at_lt=created_at_lt,
            updated_at_gt=updated_at_gt,
            updated_at_lt=updated_at_lt,
            order=order,
            order_by=order_by,
            measurement_type=measurement_type,
            start_time_gt=start_time_gt,
            start_time_lt=start_time_lt,
            tags_all=tags_all,
            tags_any=tags_any,
        )
    ).parsed
