from http import HTTPStatus
from io import BytesIO
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.storage_get_object_area import StorageGetObjectArea
from ...models.storage_get_object_method import StorageGetObjectMethod
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    area: StorageGetObjectArea,
    object_id: str,
    filename: str,
    *,
    expires: int,
    method: StorageGetObjectMethod,
    signature: str,
    range_: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(range_, Unset):
        headers["Range"] = range_

    params: dict[str, Any] = {}

    params["expires"] = expires

    json_method = method.value
    params["method"] = json_method

    params["signature"] = signature

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/storage/{area}/{object_id}/{filename}".format(
            area=quote(str(area), safe=""),
            object_id=quote(str(object_id), safe=""),
            filename=quote(str(filename), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | File | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 206:
        response_206 = File(payload=BytesIO(response.content))

        return response_206

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 416:
        response_416 = Error.from_dict(response.json())

        return response_416

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | File]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    area: StorageGetObjectArea,
    object_id: str,
    filename: str,
    *,
    client: AuthenticatedClient | Client,
    expires: int,
    method: StorageGetObjectMethod,
    signature: str,
    range_: str | Unset = UNSET,
) -> Response[Error | File]:
    """Read a stored object through a signed URL, with HTTP Range support (including suffix ranges).

    Args:
        area (StorageGetObjectArea):
        object_id (str):
        filename (str):
        expires (int):
        method (StorageGetObjectMethod):
        signature (str):
        range_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | File]
    """

    kwargs = _get_kwargs(
        area=area,
        object_id=object_id,
        filename=filename,
        expires=expires,
        method=method,
        signature=signature,
        range_=range_,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    area: StorageGetObjectArea,
    object_id: str,
    filename: str,
    *,
    client: AuthenticatedClient | Client,
    expires: int,
    method: StorageGetObjectMethod,
    signature: str,
    range_: str | Unset = UNSET,
) -> Error | File | None:
    """Read a stored object through a signed URL, with HTTP Range support (including suffix ranges).

    Args:
        area (StorageGetObjectArea):
        object_id (str):
        filename (str):
        expires (int):
        method (StorageGetObjectMethod):
        signature (str):
        range_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | File
    """

    return sync_detailed(
        area=area,
        object_id=object_id,
        filename=filename,
        client=client,
        expires=expires,
        method=method,
        signature=signature,
        range_=range_,
    ).parsed


async def asyncio_detailed(
    area: StorageGetObjectArea,
    object_id: str,
    filename: str,
    *,
    client: AuthenticatedClient | Client,
    expires: int,
    method: StorageGetObjectMethod,
    signature: str,
    range_: str | Unset = UNSET,
) -> Response[Error | File]:
    """Read a stored object through a signed URL, with HTTP Range support (including suffix ranges).

    Args:
        area (StorageGetObjectArea):
        object_id (str):
        filename (str):
        expires (int):
        method (StorageGetObjectMethod):
        signature (str):
        range_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | File]
    """

    kwargs = _get_kwargs(
        area=area,
        object_id=object_id,
        filename=filename,
        expires=expires,
        method=method,
        signature=signature,
        range_=range_,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    area: StorageGetObjectArea,
    object_id: str,
    filename: str,
    *,
    client: AuthenticatedClient | Client,
    expires: int,
    method: StorageGetObjectMethod,
    signature: str,
    range_: str | Unset = UNSET,
) -> Error | File | None:
    """Read a stored object through a signed URL, with HTTP Range support (including suffix ranges).

    Args:
        area (StorageGetObjectArea):
        object_id (str):
        filename (str):
        expires (int):
        method (StorageGetObjectMethod):
        signature (str):
        range_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | File
    """

    return (
        await asyncio_detailed(
            area=area,
            object_id=object_id,
            filename=filename,
            client=client,
            expires=expires,
            method=method,
            signature=signature,
            range_=range_,
        )
    ).parsed
