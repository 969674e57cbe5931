from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cell_measurement_bundle import CellMeasurementBundle
from ...models.confirm_upload_request import ConfirmUploadRequest
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    cell_measurement_id: str,
    *,
    body: ConfirmUploadRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/cell_measurements/{cell_measurement_id}/confirm-upload".format(
            cell_measurement_id=quote(str(cell_measurement_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CellMeasurementBundle | Error | None:
    if response.status_code == 201:
        response_201 = CellMeasurementBundle.from_dict(response.json())

        return response_201

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
) -> Response[CellMeasurementBundle | Error]:
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
    body: ConfirmUploadRequest,
) -> Response[CellMeasurementBundle | Error]:
    """Create the measurement from the uploaded files and queue its processing.

     A 409 `UPLOAD_IN_PROGRESS` means a signed PUT of this upload is still streaming (`detail.uploading`
    names its files): nothing was created; finish the PUT, then confirm again. A 409 `CONFLICT` means
    the name was taken meanwhile (`detail.existing_id`).

    Args:
        cell_measurement_id (str):
        body (ConfirmUploadRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellMeasurementBundle | Error]
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
    body: ConfirmUploadRequest,
) -> CellMeasurementBundle | Error | None:
    """Create the measurement from the uploaded files and queue its processing.

     A 409 `UPLOAD_IN_PROGRESS` means a signed PUT of this upload is still streaming (`detail.uploading`
    names its files): nothing was created; finish the PUT, then confirm again. A 409 `CONFLICT` means
    the name was taken meanwhile (`detail.existing_id`).

    Args:
        cell_measurement_id (str):
        body (ConfirmUploadRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellMeasurementBundle | Error
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
    body: ConfirmUploadRequest,
) -> Response[CellMeasurementBundle | Error]:
    """Create the measurement from the uploaded files and queue its processing.

     A 409 `UPLOAD_IN_PROGRESS` means a signed PUT of this upload is still streaming (`detail.uploading`
    names its files): nothing was created; finish the PUT, then confirm again. A 409 `CONFLICT` means
    the name was taken meanwhile (`detail.existing_id`).

    Args:
        cell_measurement_id (str):
        body (ConfirmUploadRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CellMeasurementBundle | Error]
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
    body: ConfirmUploadRequest,
) -> CellMeasurementBundle | Error | None:
    """Create the measurement from the uploaded files and queue its processing.

     A 409 `UPLOAD_IN_PROGRESS` means a signed PUT of this upload is still streaming (`detail.uploading`
    names its files): nothing was created; finish the PUT, then confirm again. A 409 `CONFLICT` means
    the name was taken meanwhile (`detail.existing_id`).

    Args:
        cell_measurement_id (str):
        body (ConfirmUploadRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CellMeasurementBundle | Error
    """

    return (
        await asyncio_detailed(
            cell_measurement_id=cell_measurement_id,
            client=client,
            body=body,
        )
    ).parsed
