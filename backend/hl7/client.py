"""Sending HL7 v2 messages over MLLP and reading their ACKs: `vigil hl7 send`, the simulator's
monitors (VIGIL_SIMULATOR_MLLP) and the MLLP benchmark.

MLLP is one message at a time: a sender waits for the ACK before the next. A client keeps its
connection open between messages and opens it again when it broke.
"""

import asyncio
import contextlib
import re
from dataclasses import dataclass

from backend.hl7.framing import Framer, TooLarge, frame

MAX_ACK_BYTES = 1024 * 1024
_SEGMENT_BREAK = re.compile(r"\r\n|\n|\r")


class SendError(Exception):
    """No ACK: the link failed, timed out, or answered with something that is not one."""


@dataclass(frozen=True)
class Ack:
    """An ACK as a person or a program reads it."""

    code: str  # MSA-1: AA, AE, AR (or CA, CE, CR in enhanced mode)
    control_id: str  # MSA-2: the MSH-10 of the message acknowledged
    errors: tuple[str, ...]  # each ERR segment, readable
    text: str  # the whole ACK, segments separated by "\r"

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")

    def describe(self) -> str:
        lines = [f"{self.code} ({_MEANING.get(self.code, 'unknown code')}) for {self.control_id}"]
        lines += [f"  {line}" for line in self.errors]
        return "\n".join(lines)


_MEANING = {
    "AA": "accepted: stored",
    "AE": "error: the message was refused for its content; sending it again will not help",
    "AR": "rejected: not supported, or the server is busy; the sender should retry",
    "CA": "commit accept",
    "CE": "commit error",
    "CR": "commit reject",
}


def read_ack(data: bytes) -> Ack:
    """The ACK's MSA and ERR segments. Raises SendError when it is not an ACK."""
    text = data.decode("utf-8", errors="replace")
    segments = [s for s in _SEGMENT_BREAK.split(text) if s]
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise SendError(f"the answer is not an HL7 message: {text[:80]!r}")
    separator = segments[0][3]
    msa = next((s.split(separator) for s in segments if s.startswith("MSA")), None)
    if msa is None or len(msa) < 2:
        raise SendError(f"the answer has no MSA segment: {text[:200]!r}")
    control_id = msa[2] if len(msa) > 2 else ""
    errors = tuple(_error_text(s.split(separator), segments[0]) for s in segments if s[:3] == "ERR")
    if len(msa) > 3 and msa[3] and not errors:
        errors = (msa[3],)  # MSA-3, the text message of HL7 before 2.5
    return Ack(msa[1], control_id, errors, "\r".join(segments))


def _error_text(fields: list[str], msh: str) -> str:
    """ERR-2 (where), ERR-3 (code^text) and ERR-8 (user message) as one line."""
    component = msh[4] if len(msh) > 4 else "^"

    def get(index: int) -> str:
        return fields[index] if len(fields) > index else ""

    segment, sequence, position = [*get(2).split(component), "", "", ""][:3]
    where = segment
    if segment and sequence:
        where += f" #{sequence}"  # which occurrence of the segment: the 3rd OBX is "OBX #3"
    if segment and position and position != "0":
        where += f", field {position}"
    code = [_unescape(p, msh) for p in get(3).split(component)[:2]]
    parts = [f"at {where}" if where else "", " ".join(p for p in code if p), _unescape(get(8), msh)]
    if not any(parts) and get(1):
        parts = [get(1)]  # ERR-1, the 2.4 form
    return "; ".join(p for p in parts if p) or "(an ERR segment without details)"


def _unescape(text: str, msh: str) -> str:
    """HL7 escape sequences (section 2.7) back to the delimiters they stand for, for a person;
    others (formatting, hex) are left as sent."""
    if len(msh) < 8:
        return text
    field, component, repetition, escape, subcomponent = (msh[i] for i in range(3, 8))
    if escape not in text:
        return text
    named = {"F": field, "S": component, "R": repetition, "T": subcomponent, "E": escape}
    pieces = text.split(escape)
    out = [pieces[0]]
    # Between two escape characters: a sequence when it is one of the named ones.
    for index in range(1, len(pieces), 2):
        sequence = pieces[index]
        closed = index + 1 < len(pieces)
        if closed and sequence in named:
            out.append(named[sequence])
        else:
            out.append(escape + sequence + (escape if closed else ""))
        if closed:
            out.append(pieces[index + 1])
    return "".join(out)


def split_messages(text: str) -> list[str]:
    """A file's messages: segments on lines (\\n, \\r\\n or \\r), a new message at each MSH;
    each message with its segments joined by \\r, as HL7 wants. Raises ValueError when a
    segment comes before any MSH."""
    messages: list[list[str]] = []
    for line in _SEGMENT_BREAK.split(text.lstrip("\ufeff")):
        line = line.strip("\x0b\x1c")  # a file saved with its MLLP framing
        if not line.strip():
            continue
        if line.startswith("MSH"):
            messages.append([])
        elif not messages:
            raise ValueError(f"no HL7 message: the first segment is {line[:20]!r}, not an MSH")
        messages[-1].append(line)
    return ["\r".join(segments) for segments in messages]


class MllpClient:
    """One MLLP connection, reopened when needed; `send` waits for the message's ACK."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._framer = Framer(MAX_ACK_BYTES)
        self._lock = asyncio.Lock()

    async def send(self, message: bytes) -> Ack:
        """Send one message (unframed) and return its ACK. Raises SendError."""
        async with self._lock:
            try:
                async with asyncio.timeout(self.timeout):
                    return read_ack(await self._exchange(message))
            except TimeoutError:
                await self.close()
                raise SendError(
                    f"no ACK from {self.host}:{self.port} within {self.timeout:g} s"
                ) from None
            except (OSError, TooLarge, asyncio.IncompleteReadError) as exc:
                await self.close()
                raise SendError(f"MLLP link to {self.host}:{self.port} failed: {exc}") from None

    async def _exchange(self, message: bytes) -> bytes:
        if self._writer is not None and not self._writer.is_closing():
            try:
                return await self._on_connection(message)
            except (SendError, ConnectionError):
                # The server closed the kept connection while it was idle (its idle timeout, a
                # restart): send again on a new one. A message that did arrive is acknowledged
                # again and stored once (same sender and control id).
                await self.close()
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._framer = Framer(MAX_ACK_BYTES)
        return await self._on_connection(message)

    async def _on_connection(self, message: bytes) -> bytes:
        assert self._reader is not None and self._writer is not None
        self._writer.write(frame(message))
        await self._writer.drain()
        while True:
            data = await self._reader.read(64 * 1024)
            if not data:
                await self.close()
                raise SendError(f"{self.host}:{self.port} closed the connection without an ACK")
            acks = self._framer.feed(data)
            if acks:
                return acks[0]

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def send_all(
    messages: list[bytes], host: str, port: int, *, wait_s: float = 10.0
) -> list[Ack | SendError]:
    """Send each message in turn on one connection; each one's ACK, or the error it met
    (`wait_s`: the longest wait for each ACK)."""
    client = MllpClient(host, port, timeout=wait_s)
    answers: list[Ack | SendError] = []
    try:
        for message in messages:
            try:
                answers.append(await client.send(message))
            except SendError as exc:
                answers.append(exc)
    finally:
        await client.close()
    return answers
