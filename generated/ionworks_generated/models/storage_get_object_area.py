from enum import StrEnum


class StorageGetObjectArea(StrEnum):
    MEASUREMENTS = "measurements"
    UPLOADS = "uploads"

    def __str__(self) -> str:
        return str(self.value)
