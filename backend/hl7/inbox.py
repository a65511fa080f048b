"""What the MLLP listener does with each message: read it, store it through the same flow as a
nurse's reading, and answer its ACK only once the transaction has committed.

AA: stored (or a resend of a message already stored: acknowledged again, stored once).
AE: the message's content is at fault (its ERR says where); resending it will not help.
AR: a message type or version Vigil does not take, or Vigil is busy or its database out of
reach: the sender keeps the message and resends it later.
"""

import asyncio
import logging
import random
import time
from datetime import timedelta, tzinfo

from sqlalchemy.exc import DBAPIError

from backend import flows
from backend.core.database import Database, overload_of
from backend.core.errors import DomainError, InvalidInput
from backend.core.timeutil import utcnow
from backend.devices.report import DeviceReport, Receipt
from backend.hl7 import pcd01

log = logging.getLogger(__name__)
INTERNAL_ERROR = 207  # HL7 table 0357: application internal error
DATA_TYPE_ERROR = 102  # HL7 table 0357: a field's value is not what it must be
RETRYABLE = {"40P01", "40001"}  # PostgreSQL: deadlock detected, serialization failure
ATTEMPTS = 3
HEADER_BYTES = 4096


def _problem(text: str, code: int = INTERNAL_ERROR) -> pcd01.Problem:
    # Not tied to a field of the message: reported against its header.
    return pcd01.Problem(segment="MSH", sequence=1, field=0, code=code, text=text)


def _encode(ack: str) -> bytes:
    """The ACK in the character set its MSH-18 names (the one the message came in)."""
    header = ack.split("\r", 1)[0]
    fields = header.split(header[3]) if len(header) > 3 else []
    charset = fields[17] if len(fields) > 17 else ""
    if charset in ("8859/1", "ASCII"):
        return ack.encode("latin-1" if charset == "8859/1" else "ascii", errors="replace")
    return ack.encode("utf-8", errors="replace")


class DeviceInbox:
    """The listener's handler for Vigil: PCD-01 in, readings stored, ACK out."""

    def __init__(self, database: Database, zone: tzinfo, future_tolerance: timedelta) -> None:
        self._database = database
        self._zone = zone
        self._future_tolerance = future_tolerance

    async def handle(self, message: bytes, peer: str) -> bytes:
        try:
            # A turn at the database like any request's: MLLP senders queue with the API's
            # clients instead of crowding them out, and a turn not given in time is an AR.
            async with self._database.admission.turn():
                return await asyncio.to_thread(self._store, message, peer)
        except Exception as exc:
            header = _header(message)  # for MSA-2: the sender matches the answer by it
            busy = overload_of(exc)
            if busy is None:
                log.exception("MLLP message from %s: unexpected error; answered AE", peer)
                return _encode(pcd01.ack(header, "AE", (_problem("internal error"),)))
            log.warning("MLLP message from %s answered AR (retry): %s", peer, busy.message)
            return _encode(pcd01.ack(header, "AR", (_problem(busy.message),)))

    def _store(self, message: bytes, peer: str) -> bytes:
        text: str | None = None
        try:
            text = pcd01.decode(message)
            report = pcd01.parse(text, zone=self._zone)
            receipt = self._receive(report)
            # Committed: only now may the sender forget the message.
            log.info(
                "MLLP message %s from %s (%s): %s",
                report.control_id,
                report.sender,
                peer,
                "a resend, already stored"
                if receipt.duplicate
                else f"{receipt.stored} readings stored"
                + (f" to session {receipt.session_id}" if receipt.session_id else " (kept)"),
            )
            return _encode(pcd01.ack(text, "AA", control_id=report.control_id))
        except pcd01.Rejected as exc:
            log.warning(
                "MLLP message %s from %s answered %s: %s",
                exc.control_id,
                peer,
                exc.code,
                "; ".join(p.text for p in exc.problems),
            )
            return _encode(pcd01.ack(text, exc.code, exc.problems, control_id=exc.control_id))
        except Exception as exc:
            busy = overload_of(exc)
            if busy is not None:
                log.warning(
                    "MLLP message from %s answered AR (retry): %s (%s: %s)",
                    peer,
                    busy.message,
                    type(exc).__name__,
                    str(getattr(exc, "orig", exc)).strip()[:300],
                )
                return _encode(pcd01.ack(text, "AR", (_problem(busy.message),)))
            if isinstance(exc, InvalidInput | DomainError):
                log.warning("MLLP message from %s answered AE: %s", peer, exc.message)
                return _encode(pcd01.ack(text, "AE", (_located(text, exc),)))
            log.exception("MLLP message from %s: unexpected error; answered AE", peer)
            return _encode(pcd01.ack(text, "AE", (_problem("internal error"),)))

    def _receive(self, report: DeviceReport) -> Receipt:
        """One unit of work with the report, committed; tried again at once when PostgreSQL
        rolled it back to break a deadlock or a serialization conflict (retrying is what
        those errors ask for), and only then answered AR."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self._database.unit_of_work(write=True) as db:
                    return flows.receive_device_report(
                        db, report, utcnow(), future_tolerance=self._future_tolerance
                    )
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) not in RETRYABLE or attempt == ATTEMPTS:
                    raise
                log.info(
                    "MLLP message %s: transaction rolled back (%s), trying again",
                    report.control_id,
                    getattr(exc.orig, "sqlstate", None),
                )
                time.sleep(random.uniform(0, 0.02 * attempt))  # noqa: S311 - jitter, not secrets
        raise AssertionError("unreachable")

    def refuse(self, head: bytes, reason: str) -> bytes:
        return _encode(pcd01.ack(_header(head), "AR", (_problem(reason),)))


def _located(text: str | None, exc: DomainError) -> pcd01.Problem:
    """The flow's refusal as an ERR: at the segment and field it names (its `loc` is segment
    name, position in the message, field: ("OBX", 7, 14) for a time in the future), so the
    gateway's log says which row; against the header when it names none."""
    loc = exc.loc if isinstance(exc, InvalidInput) else ()
    if text is not None and len(loc) == 3:
        name, position, field = loc
        if isinstance(name, str) and isinstance(position, int) and isinstance(field, int):
            occurrence = pcd01.occurrence_at(text, position)
            if occurrence is not None:
                return pcd01.Problem(name, occurrence, field, DATA_TYPE_ERROR, exc.message)
    return _problem(exc.message)


def _header(message: bytes) -> str:
    """The message's MSH alone, read leniently (one character a byte), for MSA-2 and the
    ACK's addressing when the message itself is not read."""
    return message[:HEADER_BYTES].decode("latin-1").replace("\n", "\r").split("\r", 1)[0]
