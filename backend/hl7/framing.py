"""MLLP framing (HL7 v2 Minimal Lower Layer Protocol, release 2): each message travels as
<VT> message <FS><CR> (0x0B ... 0x1C 0x0D). Pure and bounded: the framer never holds more than
`max_bytes` of one message, and bytes outside a block are counted and dropped, never kept.

python-hl7's `hl7.mllp` reader frames with asyncio's `readuntil`, which drops a whole block
whose start byte is preceded by noise and holds up to twice its limit before refusing; a clinic
link with a burst of line noise should lose only the noise, so Vigil frames itself.
"""

from dataclasses import dataclass, field

START = b"\x0b"
END = b"\x1c\x0d"
HEAD_BYTES = 4096  # of a refused message, kept to read its MSH for the ACK


def frame(message: bytes) -> bytes:
    """The message as one MLLP block."""
    return START + message + END


class TooLarge(Exception):
    """A message grew past the cap before its end block came."""

    def __init__(self, head: bytes, limit: int) -> None:
        super().__init__(f"message larger than {limit} bytes")
        self.head = head  # its first bytes: enough for its MSH
        self.limit = limit


@dataclass
class Framer:
    """Feed it bytes as they arrive; it hands back whole messages (without their framing)."""

    max_bytes: int
    discarded: int = 0  # bytes dropped outside a block (noise)
    noise: int = 0  # bytes dropped since the last whole message
    restarted: int = 0  # blocks abandoned by a new start byte before their end
    noted: bool = False  # the noise was logged (by the listener)
    noted_restart: bool = False
    _buffer: bytearray = field(default_factory=bytearray)
    _in_block: bool = False

    @property
    def in_block(self) -> bool:
        """A message has started and its end has not come yet."""
        return self._in_block

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by `data`. Raises TooLarge when one passes the cap (the
        framer is then reset: the caller refuses it and closes the connection)."""
        messages: list[bytes] = []
        pos, size = 0, len(data)
        while pos < size:
            if not self._in_block:
                at = data.find(START, pos)
                if at < 0:
                    self._drop(size - pos)
                    break
                self._drop(at - pos)
                pos = at + 1
                self._in_block = True
                self._buffer.clear()
                continue
            held = len(self._buffer)
            # Never hold more of one message than the cap and its end block's two bytes.
            upto = min(size, pos + self.max_bytes + len(END) - held)
            self._buffer += data[pos:upto]
            scan_from = max(held - 1, 0)  # the end block may straddle two reads
            end = self._buffer.find(END, scan_from)
            start = self._buffer.find(START, held)
            if start >= 0 and (end < 0 or start < end):
                # A new start before this block's end: the sender gave up on the block (a
                # gateway's partial write before it reconnected); drop it and start afresh.
                self.restarted += 1
                self._drop(start)
                pos += start - held + 1
                self._buffer.clear()
                continue
            if end >= 0:
                if end > self.max_bytes:
                    self._too_large()
                messages.append(bytes(self._buffer[:end]))
                self.noise = 0
                pos += end + len(END) - held
                self._buffer.clear()
                self._in_block = False
                continue
            over = len(self._buffer) - self.max_bytes
            if over > 1 or (over == 1 and self._buffer[-1:] != END[:1]):
                self._too_large()
            pos = upto
        return messages

    def _drop(self, count: int) -> None:
        self.discarded += count
        self.noise += count

    def _too_large(self) -> None:
        head = bytes(self._buffer[:HEAD_BYTES])
        self._buffer.clear()
        self._in_block = False
        raise TooLarge(head, self.max_bytes)
