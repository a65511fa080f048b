"""The MLLP listener's framing and bounds on hostile links, with a stand-in handler (the real
one, storing readings, is tested in test_mllp_ingest.py). Timeouts are set to fractions of a
second, so the whole file runs in seconds."""

import asyncio
import contextlib
import logging
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from backend.hl7.client import MllpClient, SendError, read_ack, split_messages
from backend.hl7.framing import END, START, Framer, TooLarge, frame
from backend.hl7.listener import Limits, MllpListener

pytestmark = pytest.mark.anyio
LOGGER = "backend.hl7.listener"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def message(control_id: str, padding: int = 0) -> bytes:
    return (
        f"MSH|^~\\&|MON|WARD|VIGIL|CLINIC|20261207103000+0000||ORU^R01^ORU_R01|{control_id}|P|2.6\r"
        f"PID|||1\rOBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97{'0' * padding}"
        "|262688^MDC_DIM_PERCENT^MDC"
    ).encode()


class EchoHandler:
    """ACKs AA with MSA-2 = the message's MSH-10; remembers what it saw."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.refused: list[bytes] = []

    async def handle(self, data: bytes, peer: str) -> bytes:
        self.seen.append(data)
        control_id = data.split(b"\r", 1)[0].split(b"|")[9].decode()
        return (
            f"MSH|^~\\&|VIGIL|CLINIC|||20261207||ACK^R01^ACK|A{control_id}|P|2.6\r"
            f"MSA|AA|{control_id}"
        ).encode()

    def refuse(self, head: bytes, reason: str) -> bytes:
        self.refused.append(head)
        control_id = head.split(b"\r", 1)[0].split(b"|")[9].decode()
        return (
            f"MSH|^~\\&|VIGIL|CLINIC|||20261207||ACK^R01^ACK|R|P|2.6\rMSA|AR|{control_id}\r"
            f"ERR||MSH^1|207^{reason}^HL70357|E"
        ).encode()


FAST = Limits(
    max_message_bytes=64 * 1024, max_connections=20, message_timeout_s=0.3, idle_timeout_s=0.6
)


@asynccontextmanager
async def listening(
    handler: EchoHandler | None = None, limits: Limits = FAST, port: int = 0
) -> AsyncIterator[MllpListener]:
    listener = MllpListener(handler or EchoHandler(), "127.0.0.1", port, limits, bind_retry_s=0.05)
    await listener.start()
    try:
        yield listener
    finally:
        await listener.stop()


async def connect(listener: MllpListener) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert listener.port is not None
    return await asyncio.open_connection("127.0.0.1", listener.port)


async def read_block(reader: asyncio.StreamReader) -> bytes:
    framer = Framer(1024 * 1024)
    async with asyncio.timeout(2):
        while True:
            data = await reader.read(65536)
            assert data, "closed before an answer"
            if blocks := framer.feed(data):
                return blocks[0]


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """The server closed the connection (EOF or reset) within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


async def hang_up(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


# ---- framing ------------------------------------------------------------------------------


def test_framer_finds_messages_across_reads_and_drops_noise() -> None:
    framer = Framer(1000)
    stream = b"noise\x00\xff" + frame(b"MSH|one") + b"\r\n" + frame(b"MSH|two")
    got: list[bytes] = []
    for i in range(len(stream)):  # one byte at a time: every split of the end block
        got += framer.feed(stream[i : i + 1])
    assert got == [b"MSH|one", b"MSH|two"]
    assert framer.discarded == 7 + 2 and not framer.in_block


def test_framer_restarts_at_a_new_start_block() -> None:
    framer = Framer(1000)
    assert framer.feed(START + b"MSH|cut off" + frame(b"MSH|whole")) == [b"MSH|whole"]
    assert framer.restarted == 1


def test_framer_never_holds_more_than_the_cap() -> None:
    framer = Framer(1000)
    framer.feed(START + b"x" * 600)
    with pytest.raises(TooLarge) as refused:
        framer.feed(b"x" * 10_000_000)
    assert len(refused.value.head) <= 4096
    assert len(framer._buffer) == 0 and not framer.in_block
    # A message exactly at the cap passes; one byte more does not.
    assert framer.feed(START + b"y" * 1000 + END) == [b"y" * 1000]
    with pytest.raises(TooLarge):
        framer.feed(START + b"y" * 1001 + END)


# ---- the listener -------------------------------------------------------------------------


async def test_messages_on_one_connection_are_each_acknowledged() -> None:
    handler = EchoHandler()
    async with listening(handler) as listener:
        assert listener.port is not None
        client = MllpClient("127.0.0.1", listener.port, timeout=2)
        acks = [await client.send(message(f"C{i}")) for i in range(3)]
        await client.close()
    assert [(a.code, a.control_id) for a in acks] == [("AA", "C0"), ("AA", "C1"), ("AA", "C2")]
    assert len(handler.seen) == 3


async def test_garbage_before_a_start_block_is_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    async with listening() as listener:
        reader, writer = await connect(listener)
        writer.write(b"\x00\xff GET / HTTP/1.1\r\n\r\n" + frame(message("G1")))
        ack = read_ack(await read_block(reader))
        await hang_up(writer)
    assert (ack.code, ack.control_id) == ("AA", "G1")
    assert "dropping bytes outside any message" in caplog.text


async def test_a_stream_of_garbage_without_a_start_block_is_cut_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    async with listening() as listener:
        reader, writer = await connect(listener)
        writer.write(b"\xff" * (FAST.max_message_bytes + 10))
        assert await closed_within(reader, 2)
        await hang_up(writer)
    assert "data outside any message" in caplog.text


async def test_a_message_without_its_end_block_is_dropped_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    handler = EchoHandler()
    async with listening(handler) as listener:
        reader, writer = await connect(listener)
        writer.write(START + message("S1"))  # and then nothing
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await closed_within(reader, 2)
        took = loop.time() - began
        await hang_up(writer)
    # Not before its deadline; the upper bound leaves room for a loaded machine's scheduling.
    assert FAST.message_timeout_s * 0.9 <= took < FAST.message_timeout_s + 1.2
    assert handler.seen == []
    assert "stalled mid-message" in caplog.text


async def test_a_trickling_sender_is_held_to_the_message_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bytes that keep coming do not extend a message's deadline (a slow-loris sender)."""
    caplog.set_level(logging.WARNING, LOGGER)
    async with listening() as listener:
        reader, writer = await connect(listener)
        writer.write(START)
        began = asyncio.get_running_loop().time()
        closed = False
        for _ in range(40):
            try:
                writer.write(b"x")
                await writer.drain()
            except ConnectionError:
                closed = True
                break
            if await closed_within(reader, 0.05):
                closed = True
                break
        took = asyncio.get_running_loop().time() - began
        await hang_up(writer)
    assert closed and took < FAST.message_timeout_s + 1.2
    assert "stalled mid-message" in caplog.text


async def test_an_idle_connection_is_closed_and_trickled_noise_does_not_keep_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    async with listening() as listener:
        reader, writer = await connect(listener)
        began = asyncio.get_running_loop().time()
        closed = False
        for _ in range(40):
            try:
                writer.write(b"\x00")  # noise, never a start block
                await writer.drain()
            except ConnectionError:
                closed = True
                break
            if await closed_within(reader, 0.05):
                closed = True
                break
        took = asyncio.get_running_loop().time() - began
        await hang_up(writer)
    assert closed and took < FAST.idle_timeout_s + 0.5
    assert "sent no message for" in caplog.text
    # Noise is logged once when it starts and once in sum at the close, not per byte.
    noise = [r.getMessage() for r in caplog.records if "outside any message" in r.getMessage()]
    assert len(noise) == 2 and "bytes outside any message dropped" in noise[1], noise


async def test_a_message_over_the_cap_is_answered_ar_and_never_buffered_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    handler = EchoHandler()
    limits = Limits(max_connections=5, message_timeout_s=5, idle_timeout_s=5)  # the 1 MiB cap
    huge = START + message("BIG", padding=20 * 1024 * 1024)  # 20 MiB, never ended
    async with listening(handler, limits) as listener:
        reader, writer = await connect(listener)
        tracemalloc.start()
        try:
            with contextlib.suppress(ConnectionError):
                for at in range(0, len(huge), 256 * 1024):
                    writer.write(huge[at : at + 256 * 1024])
                    await writer.drain()
            ack = read_ack(await read_block(reader))
            assert await closed_within(reader, 3)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await hang_up(writer)
        # The server is unharmed: the next sender is served.
        assert listener.port is not None
        client = MllpClient("127.0.0.1", listener.port, timeout=2)
        again = await client.send(message("OK1"))
        await client.close()
    assert (ack.code, ack.control_id) == ("AR", "BIG")
    assert "larger than 1048576 bytes" in " ".join(ack.errors)
    # Server and client in this process together held a few MiB at most, not the 20 sent.
    assert peak < 6 * 1024 * 1024, peak
    assert handler.seen == [message("OK1")] and again.code == "AA"
    assert len(handler.refused[0]) <= 4096
    assert "refused: larger than 1048576 bytes" in caplog.text


async def test_500_connections_at_once_are_bounded_and_a_good_sender_is_still_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    handler = EchoHandler()
    limits = Limits(max_connections=20, message_timeout_s=0.5, idle_timeout_s=5.0)
    async with listening(handler, limits) as listener:
        assert listener.port is not None
        monitor = MllpClient("127.0.0.1", listener.port, timeout=2)
        assert (await monitor.send(message("M0"))).code == "AA"  # connected before the flood
        flood = await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", listener.port) for _ in range(500))
        )
        # Beyond the cap, connections are closed at once; the monitor's is kept and served.
        closed = await asyncio.gather(*(closed_within(r, 1.5) for r, _ in flood))
        assert listener.connections <= limits.max_connections
        assert (await monitor.send(message("M1"))).code == "AA"
        assert sum(closed) >= 500 - (limits.max_connections - 1)
        await asyncio.gather(*(hang_up(w) for _, w in flood))
        await monitor.close()
        # Once the flood has gone, a new sender is served.
        fresh = MllpClient("127.0.0.1", listener.port, timeout=2)
        for _ in range(50):
            if listener.connections == 0:
                break
            await asyncio.sleep(0.02)
        assert (await fresh.send(message("M2"))).code == "AA"
        await fresh.close()
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) >= 500 - (limits.max_connections - 1)
    assert "VIGIL_MLLP_MAX_CONNECTIONS" in refusals[0].getMessage()


async def test_a_stalled_sender_does_not_hold_up_others() -> None:
    async with listening() as listener:
        stalled_reader, stalled_writer = await connect(listener)
        stalled_writer.write(START + message("HALF")[:40])
        assert listener.port is not None
        other = MllpClient("127.0.0.1", listener.port, timeout=1)
        answers = [await other.send(message(f"O{i}")) for i in range(5)]
        await other.close()
        assert await closed_within(stalled_reader, 2)
        await hang_up(stalled_writer)
    assert [a.code for a in answers] == ["AA"] * 5


async def test_only_one_of_two_listeners_binds_and_the_other_takes_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two Vigil workers on one host: one holds the port; when it stops, the other takes it."""
    caplog.set_level(logging.INFO, LOGGER)
    first_handler, second_handler = EchoHandler(), EchoHandler()
    first = MllpListener(first_handler, "127.0.0.1", 0, FAST, bind_retry_s=0.05)
    await first.start()
    assert first.port is not None
    second = MllpListener(second_handler, "127.0.0.1", first.port, FAST, bind_retry_s=0.05)
    await second.start()
    try:
        assert first.bound.is_set() and not second.bound.is_set()
        assert "is in use" in caplog.text
        client = MllpClient("127.0.0.1", first.port, timeout=2)
        assert (await client.send(message("W1"))).code == "AA"
        await client.close()
        await first.stop()
        async with asyncio.timeout(2):
            await second.bound.wait()
        assert second.port == first.port
        assert (await client.send(message("W2"))).code == "AA"
        await client.close()
    finally:
        await first.stop()
        await second.stop()
    assert first_handler.seen == [message("W1")] and second_handler.seen == [message("W2")]
    assert "taken over" in caplog.text


# ---- reading ACKs and message files (vigil hl7 send) ---------------------------------------


def test_an_ack_is_read_for_a_person() -> None:
    ack = read_ack(
        b"MSH|^~\\&|VIGIL||GW||20261207||ACK^R01^ACK|X1|P|2.6\r"
        b"MSA|AE|MSG7\r"
        b"ERR||OBX^3^5|102^Data type error^HL70357|E||||OBX-5: 150 is not a possible spo2 (\\S\\)\r"
    )
    assert (ack.code, ack.control_id, ack.accepted) == ("AE", "MSG7", False)
    assert ack.errors == (
        "at OBX #3, field 5; 102 Data type error; OBX-5: 150 is not a possible spo2 (^)",
    )
    assert "refused for its content" in ack.describe()
    with pytest.raises(SendError):
        read_ack(b"HTTP/1.1 400 Bad Request\r\n")


def test_a_files_messages_are_split_at_each_msh_whatever_the_line_ends() -> None:
    text = "\ufeffMSH|^~\\&|A\nPID|1\r\n\r\nMSH|^~\\&|B\rOBX|1\r\x1c"
    assert split_messages(text) == ["MSH|^~\\&|A\rPID|1", "MSH|^~\\&|B\rOBX|1"]
    with pytest.raises(ValueError, match="not an MSH"):
        split_messages("PID|1\nMSH|^~\\&|A")


async def test_an_address_not_this_machines_is_a_clear_start_up_error() -> None:
    listener = MllpListener(EchoHandler(), "192.0.2.1", 0, FAST)  # TEST-NET-1: never local
    with pytest.raises(RuntimeError, match=r"cannot listen on 192\.0\.2\.1:0.*VIGIL_MLLP_HOST"):
        await listener.start()
