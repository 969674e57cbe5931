from enum import StrEnum


class PropertiesMeasurementCreateMeasurementType(StrEnum):
    PROPERTIES = "properties"

    def __str__(self) -> str:
        return str(self.value)
