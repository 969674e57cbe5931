"""Contains all the data models used in inputs/outputs"""

from .cell_instance import CellInstance
from .cell_instance_create import CellInstanceCreate
from .cell_instance_page import CellInstancePage
from .cell_instance_update import CellInstanceUpdate
from .cell_measurement import CellMeasurement
from .cell_measurement_bundle import CellMeasurementBundle
from .cell_measurement_page import CellMeasurementPage
from .cell_measurement_properties_type_0 import CellMeasurementPropertiesType0
from .cell_measurement_update import CellMeasurementUpdate
from .cell_measurement_update_properties_type_0 import (
    CellMeasurementUpdatePropertiesType0,
)
from .cell_specification import CellSpecification
from .cell_specification_create import CellSpecificationCreate
from .cell_specification_page import CellSpecificationPage
from .cell_specification_update import CellSpecificationUpdate
from .column_table import ColumnTable
from .component import Component
from .confirm_upload_request import ConfirmUploadRequest
from .cycles_response import CyclesResponse
from .error import Error
from .error_detail_type_0 import ErrorDetailType0
from .file_list import FileList
from .get_time_series_overview_response_200 import GetTimeSeriesOverviewResponse200
from .get_time_series_overview_response_200_files import (
    GetTimeSeriesOverviewResponse200Files,
)
from .get_time_series_overview_response_200_files_additional_property import (
    GetTimeSeriesOverviewResponse200FilesAdditionalProperty,
)
from .get_time_series_overview_response_200_series import (
    GetTimeSeriesOverviewResponse200Series,
)
from .get_time_series_overview_response_200_series_additional_property import (
    GetTimeSeriesOverviewResponse200SeriesAdditionalProperty,
)
from .health import Health
from .initiate_upload_request import InitiateUploadRequest
from .initiate_upload_response import InitiateUploadResponse
from .known_error_code import KnownErrorCode
from .measurement_fields import MeasurementFields
from .measurement_fields_properties_type_0 import MeasurementFieldsPropertiesType0
from .measurement_order_by import MeasurementOrderBy
from .measurement_tag_usage import MeasurementTagUsage
from .measurement_tag_usage_page import MeasurementTagUsagePage
from .measurement_tags_bulk import MeasurementTagsBulk
from .measurement_tags_bulk_result import MeasurementTagsBulkResult
from .measurement_type import MeasurementType
from .organization import Organization
from .pipeline import Pipeline
from .pipeline_create import PipelineCreate
from .pipeline_create_elements import PipelineCreateElements
from .pipeline_create_options import PipelineCreateOptions
from .pipeline_result_type_0 import PipelineResultType0
from .properties_measurement_create import PropertiesMeasurementCreate
from .properties_measurement_create_measurement_type import (
    PropertiesMeasurementCreateMeasurementType,
)
from .properties_measurement_create_properties import (
    PropertiesMeasurementCreateProperties,
)
from .quantity import Quantity
from .ratings import Ratings
from .resource_order_by import ResourceOrderBy
from .run_measurement_sql_body import RunMeasurementSqlBody
from .run_measurement_sql_response_200 import RunMeasurementSqlResponse200
from .run_measurement_sql_response_200_data import RunMeasurementSqlResponse200Data
from .sort_order import SortOrder
from .steps_and_cycles_response import StepsAndCyclesResponse
from .storage_get_object_area import StorageGetObjectArea
from .storage_get_object_method import StorageGetObjectMethod
from .storage_put_object_area import StoragePutObjectArea
from .storage_put_object_method import StoragePutObjectMethod
from .stored_object import StoredObject
from .upload_info import UploadInfo
from .upload_info_multipart_type_0 import UploadInfoMultipartType0
from .user import User

__all__ = (
    "CellInstance",
    "CellInstanceCreate",
    "CellInstancePage",
    "CellInstanceUpdate",
    "CellMeasurement",
    "CellMeasurementBundle",
    "CellMeasurementPage",
    "CellMeasurementPropertiesType0",
    "CellMeasurementUpdate",
    "CellMeasurementUpdatePropertiesType0",
    "CellSpecification",
    "CellSpecificationCreate",
    "CellSpecificationPage",
    "CellSpecificationUpdate",
    "ColumnTable",
    "Component",
    "ConfirmUploadRequest",
    "CyclesResponse",
    "Error",
    "ErrorDetailType0",
    "FileList",
    "GetTimeSeriesOverviewResponse200",
    "GetTimeSeriesOverviewResponse200Files",
    "GetTimeSeriesOverviewResponse200FilesAdditionalProperty",
    "GetTimeSeriesOverviewResponse200Series",
    "GetTimeSeriesOverviewResponse200SeriesAdditionalProperty",
    "Health",
    "InitiateUploadRequest",
    "InitiateUploadResponse",
    "KnownErrorCode",
    "MeasurementFields",
    "MeasurementFieldsPropertiesType0",
    "MeasurementOrderBy",
    "MeasurementTagsBulk",
    "MeasurementTagsBulkResult",
    "MeasurementTagUsage",
    "MeasurementTagUsagePage",
    "MeasurementType",
    "Organization",
    "Pipeline",
    "PipelineCreate",
    "PipelineCreateElements",
    "PipelineCreateOptions",
    "PipelineResultType0",
    "PropertiesMeasurementCreate",
    "PropertiesMeasurementCreateMeasurementType",
    "PropertiesMeasurementCreateProperties",
    "Quantity",
    "Ratings",
    "ResourceOrderBy",
    "RunMeasurementSqlBody",
    "RunMeasurementSqlResponse200",
    "RunMeasurementSqlResponse200Data",
    "SortOrder",
    "StepsAndCyclesResponse",
    "StorageGetObjectArea",
    "StorageGetObjectMethod",
    "StoragePutObjectArea",
    "StoragePutObjectMethod",
    "StoredObject",
    "UploadInfo",
    "UploadInfoMultipartType0",
    "User",
)
