"""The base for every API schema."""

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from backend.core.fields import unencodable


class Schema(BaseModel):
    # Python's json reads NaN and Infinity; no quantity Vigil stores can be either, and neither
    # survives being written back as JSON, so every float field refuses them.
    model_config = ConfigDict(from_attributes=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        # JSON's "\ud800" is a lone surrogate: not text. PostgreSQL, SQLite's UTF-8 and every
        # JSON answer would fail on it later, as a 500; refused here, the error names the field.
        if (bad := unencodable(value)) is not None:
            raise PydanticCustomError(
                "string_unicode",
                "contains {found}, an unpaired surrogate: not valid Unicode text",
                {"found": ascii(next(c for c in bad if 0xD800 <= ord(c) <= 0xDFFF))},
            )
        return value
