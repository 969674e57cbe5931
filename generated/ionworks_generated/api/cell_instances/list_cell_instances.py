from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cell_instance_page import CellInstancePage
from ...models.error import Error
from ...models.resource_order_by import ResourceOrderBy
from ...models.sort_order import SortOrder
from ...types import UNSET, Response, Unset


def _get_kwargs(
    cell_specification_id: str,
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
    order_by: ResourceOrderBy | Unset = UNSET,
    batch_id: str | Unset = UNSET,
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

    params["batch_id"] = batch_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/cell_specifications/{cell_specification_id}/cell_instances".format(
            cell_specification_id=quote(str(cell_specification_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CellInstancePage | Error | None:
    if response.status_code == 200:
        response_200 = CellInstancePage.from_dict(response.json())

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
) -> Response[CellInstancePage | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    cell_specification_id: str,
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
    order_by: ResourceOrderBy | Unset = UNSET,
    batch_id: str | Unset = UNSET,
) -> Response[CellInstancePage | Error]:
    """List the cell instances of a specification, filtered, ordered and paginated on the server.

    Args:
        cell_specification_id (str):
        limit (int | Unset):  Default: 1000.
        offset (int | Unset):  Default: 0.
        name (str | Unset):
        created_by_email (str | Unset):
        created_at_gt (str | Unset):
        created_at_lt (str | Unset):
        updated_at_gt (str | Unset):
        updated_at_lt (str | Unset):
        order (SortOrder | Unset):
        order_by (ResourceOrderBy | Unset):
        batch_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellInstancePage | Error]
    """

    kwargs = _get_kwargs(
        cell_specification_id=cell_specification_id,
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
        batch_id=batch_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    cell_specification_id: str,
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
    order_by: ResourceOrderBy | Unset = UNSET,
    batch_id: str | Unset = UNSET,
) -> CellInstancePage | Error | None:
    """List the cell instances of a specification, filtered, ordered and paginated on the server.

    Args:
        cell_specification_id (str):
        limit (int | Unset):  Default: 1000.
        offset (int | Unset):  Default: 0.
        name (str | Unset):
        created_by_email (str | Unset):
        created_at_gt (str | Unset):
        created_at_lt (str | Unset):
        updated_at_gt (str | Unset):
        updated_at_lt (str | Unset):
        order (SortOrder | Unset):
        order_by (ResourceOrderBy | Unset):
        batch_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellInstancePage | Error
    """

    return sync_detailed(
        cell_specification_id=cell_specification_id,
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
        batch_id=batch_id,
    ).parsed


async def asyncio_detailed(
    cell_specification_id: str,
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
    order_by: ResourceOrderBy | Unset = UNSET,
    batch_id: str | Unset = UNSET,
) -> Response[CellInstancePage | Error]:
    """List the cell instances of a specification, filtered, ordered and paginated on the server.

    Args:
        cell_specification_id (str):
        limit (int | Unset):  Default: 1000.
        offset (int | Unset):  Default: 0.
        name (str | Unset):
        created_by_email (str | Unset):
        created_at_gt (str | Unset):
        created_at_lt (str | Unset):
        updated_at_gt (str | Unset):
        updated_at_lt (str | Unset):
        order (SortOrder | Unset):
        order_by (ResourceOrderBy | Unset):
        batch_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellInstancePage | Error]
    """

    kwargs = _get_kwargs(
        cell_specification_id=cell_specification_id,
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
        batch_id=batch_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    cell_specification_id: str,
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
    order_by: ResourceOrderBy | Unset = UNSET,
    batch_id: str | Unset = UNSET,
) -> CellInstancePage | Error | None:
    """List the cell instances of a specification, filtered, ordered and paginated on the server.

    Args:
        cell_specification_id (str):
        limit (int | Unset):  Default: 1000.
        offset (int | Unset):  Default: 0.
        name (str | Unset):
        created_by_email (str | Unset):
        created_at_gt (str | Unset):
        created_at_lt (str | Unset):
        updated_at_gt (str | Unset):
        updated_at_lt (str | Unset):
        order (SortOrder | Unset):
        order_by (ResourceOrderBy | Unset):
        batch_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellInstancePage | Error
    """

    return (
        await asyncio_detailed(
            cell_specification_id=cell_specification_id,
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
            batch_id=batch_id,
        )
    ).parsed
