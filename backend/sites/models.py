"""Sites, rooms and chairs. Each name is unique within its parent however it is spelt: the
`name_key` column (sites/rules.py) holds the spelling-free form the unique indexes compare."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.database import Base


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80), unique=True)
    # Retired, not deleted: sessions held there keep their place in the record.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    rooms: Mapped[list["Room"]] = relationship(lazy="raise", back_populates="site")


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("site_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    # Loaded with its room whenever asked for: a session's place is shown everywhere it is.
    site: Mapped[Site] = relationship(lazy="selectin", back_populates="rooms")
    chairs: Mapped[list["Chair"]] = relationship(lazy="raise", back_populates="room")


class Chair(Base):
    __tablename__ = "chairs"
    __table_args__ = (UniqueConstraint("room_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    name_key: Mapped[str] = mapped_column(String(32))
    # The room's map: where the chair comes in pickers and lists (lowest first).
    position: Mapped[int] = mapped_column(default=0)
    # A chair that has held sessions is retired rather than deleted, so the record keeps it.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    room: Mapped[Room] = relationship(lazy="selectin", back_populates="chairs")

    @property
    def in_service(self) -> bool:
        """A session may start here: the chair, its room and its site are all in use."""
        return self.active and self.room.active and self.room.site.active

    @property
    def place(self) -> str:
        return f"{self.room.site.name} / {self.room.name}"
