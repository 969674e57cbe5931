from enum import StrEnum


class MeasurementOrderBy(StrEnum):
    CREATED_AT = "created_at"
    NAME = "name"
    START_TIME = "start_time"
    UPDATED_AT = "updated_at"

    def __str__(self) -> str:
        return str(self.value)
