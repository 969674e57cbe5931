from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cell_specification_page import CellSpecificationPage
from ...models.error import Error
from ...models.resource_order_by import ResourceOrderBy
from ...models.sort_order import SortOrder
from ...types import UNSET, Response, Unset


def _get_kwargs(
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
    form_factor: str | Unset = UNSET,
    project_id: str | Unset = UNSET,
    full: bool | Unset = False,
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

    params["form_factor"] = form_factor

    params["project_id"] = project_id

    params["full"] = full

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/cell_specifications",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CellSpecificationPage | Error | None:
    if response.status_code == 200:
        response_200 = CellSpecificationPage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

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
) -> Response[CellSpecificationPage | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
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
    form_factor: str | Unset = UNSET,
    project_id: str | Unset = UNSET,
    full: bool | Unset = False,
) -> Response[CellSpecificationPage | Error]:
    """List cell specifications, filtered, ordered and paginated on the server.

    Args:
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
        form_factor (str | Unset):
        project_id (str | Unset):
        full (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellSpecificationPage | Error]
    """

    kwargs = _get_kwargs(
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
        form_factor=form_factor,
        project_id=project_id,
        full=full,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
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
    form_factor: str | Unset = UNSET,
    project_id: str | Unset = UNSET,
    full: bool | Unset = False,
) -> CellSpecificationPage | Error | None:
    """List cell specifications, filtered, ordered and paginated on the server.

    Args:
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
        form_factor (str | Unset):
        project_id (str | Unset):
        full (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellSpecificationPage | Error
    """

    return sync_detailed(
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
        form_factor=form_factor,
        project_id=project_id,
        full=full,
    ).parsed


async def asyncio_detailed(
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
    form_factor: str | Unset = UNSET,
    project_id: str | Unset = UNSET,
    full: bool | Unset = False,
) -> Response[CellSpecificationPage | Error]:
    """List cell specifications, filtered, ordered and paginated on the server.

    Args:
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
        form_factor (str | Unset):
        project_id (str | Unset):
        full (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellSpecificationPage | Error]
    """

    kwargs = _get_kwargs(
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
        form_factor=form_factor,
        project_id=project_id,
        full=full,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
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
    form_factor: str | Unset = UNSET,
    project_id: str | Unset = UNSET,
    full: bool | Unset = False,
) -> CellSpecificationPage | Error | None:
    """List cell specifications, filtered, ordered and paginated on the server.

    Args:
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
        form_factor (str | Unset):
        project_id (str | Unset):
        full (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellSpecificationPage | Error
    """

    return (
        await asyncio_detailed(
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
            form_factor=form_factor,
            project_id=project_id,
            full=full,
        )
    ).parsed
