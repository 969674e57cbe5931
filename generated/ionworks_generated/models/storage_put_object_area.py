from enum import StrEnum


class StoragePutObjectArea(StrEnum):
    MEASUREMENTS = "measurements"
    UPLOADS = "uploads"

    def __str__(self) -> str:
        return str(self.value)
