"""The base for every API schema."""

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from backend.core.fields import text_error, unencodable


class Schema(BaseModel):
    # Python's json reads NaN and Infinity; no quantity Vigil stores can be either, and neither
    # survives being written back as JSON, so every float field refuses them.
    model_config = ConfigDict(from_attributes=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        # JSON's "\ud800" is a lone surrogate: not text; "\u0000" is NUL, which PostgreSQL
        # cannot store. Either would fail later, as a 500; refused here, the error names the field.
        if (bad := unencodable(value)) is not None:
            raise PydanticCustomError(*text_error(bad))
        return value
