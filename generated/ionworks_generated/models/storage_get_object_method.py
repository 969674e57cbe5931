from enum import StrEnum


class StorageGetObjectMethod(StrEnum):
    GET = "GET"
    PUT = "PUT"

    def __str__(self) -> str:
        return str(self.value)
