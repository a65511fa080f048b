"""A simulated session's run: enough to rebuild the simulation exactly after a restart."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base


class SimulationRun(Base):
    """The scenario, seed and live events replay the simulation deterministically; `position_s`
    and `readings_sent` are committed with the readings they account for, so a restart resumes
    exactly where the stored record ends: nothing lost, nothing stored twice."""

    __tablename__ = "simulation_runs"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("infusion_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    scenario_name: Mapped[str] = mapped_column(String(120))
    scenario_text: Mapped[str] = mapped_column(Text)
    seed: Mapped[int]
    # The trainer's choices of patient (age, weight, baseline vitals…) over the scenario's.
    patient: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    speed: Mapped[float] = mapped_column(Float)
    paused: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16), index=True)  # running, finished, stopped
    # Where the run started in its scenario: the minutes before are played as history at once.
    start_at_s: Mapped[float] = mapped_column(Float)
    position_s: Mapped[float] = mapped_column(Float)
    readings_sent: Mapped[int]
    # Trainer events as [{"at_s": 123.0, "event": {...}, "by": "..."}], in the order applied.
    live_events: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # The server process playing it, and until when its claim holds: two processes on one
    # database (a second worker, a restarted server) never play the same run at once.
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
