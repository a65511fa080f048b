"""Who is making a request: a signed-in person, a machine client holding a token, or a device
whose message arrived over a device link (HL7 v2)."""

from dataclasses import dataclass
from typing import Literal

from backend.core.roles import Role


@dataclass(frozen=True)
class Actor:
    kind: Literal["user", "token", "device"]
    id: int
    name: str
    role: Role

    @property
    def label(self) -> str:
        """How the actor is written into records (readings, phase changes)."""
        if self.kind == "device":
            return f"device:{self.name}"
        return self.name if self.kind == "user" else f"token:{self.name}"
