"""The event log the live stream is served from, and the counter that orders it."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base


class StreamEvent(Base):
    """One committed change a dashboard must see; `seq` is the cursor clients resume from."""

    __tablename__ = "stream_events"

    # Taken from StreamCounter inside the writing transaction, so seq order is commit order
    # (an autoincrement id is not: a later id can commit first and a reader would skip the earlier).
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[int | None] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class StreamCounter(Base):
    """A single row; updating it row-locks until commit, which serialises sequence numbers."""

    __tablename__ = "stream_counter"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
