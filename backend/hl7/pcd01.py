"""IHE PCD-01 (Communicate PCD Data) in HL7 v2: reading an ORU^R01 into a `DeviceReport`,
answering it with an ACK, and writing one for the simulator, the benchmark and the tests.

Pure functions, no database, no network. References cited below:
- HL7 2.6 chapter 2 (control): MSH, MSA, ERR, escape sequences (2.7), acknowledgment (2.9);
- HL7 2.6 chapter 7 (observation reporting): ORU^R01, OBR, OBX; HL7 tables 0085 (observation
  result status), 0103 (processing id), 0211 (character sets), 0357 (message error codes);
- IHE PCD Technical Framework Vol 2, transaction PCD-01 (OBX-4 containment, OBX-8 measurement
  status, OBX-18 equipment EUI-64), IHE PCD wiki "Null flavors in PCD".

Why not `hl7.parse` for the reading: python-hl7 builds an object per component, so a 1 MiB message
of 10,000 OBX rows took 2 s and one of 1 MiB of "^" 5.5 s and 470 MB (measured); its unescape
expands "\\.sp<n>\\" n times and raises on a bad count. The message here is split lazily with
`str.split` and a bounded number of pieces per field, so the work is linear in the message size.
python-hl7 stays the independent parser the tests check the writer and the ACK with.
"""

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from backend.devices.report import DeviceObservation, DeviceReport, Skip
from backend.hl7 import mdc
from backend.readings.vitals import VITALS, blood_pressure_error, range_error

SUPPORTED_VERSIONS = ("2.5", "2.5.1", "2.6")
MAX_PROBLEMS = 20  # an ACK names at most this many; a sender with more has one fault repeated
MAX_CONTROL_ID = 199  # MSH-10 is ST(199) in HL7 2.6
MAX_TEXT = 200  # sender, bed, label: longer text is cut (they are shown, not parsed further)

# HL7 table 0357 (message error condition codes), the texts ERR-3.2 carries.
ERROR_TEXTS: dict[int, str] = {
    0: "Message accepted",
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    202: "Unsupported processing id",
    203: "Unsupported version id",
    207: "Application internal error",
}


@dataclass(frozen=True)
class Problem:
    """One fault, for an ERR segment: ERR-2 (segment ^ sequence ^ field), ERR-3 (table 0357)."""

    segment: str  # e.g. "OBX"
    sequence: int  # which occurrence of that segment (1 = the first OBX), as ERL-2 counts
    field: int  # field position, 0 when the fault is the segment itself
    code: int  # HL7 table 0357
    text: str  # for a person reading the sender's log


class Rejected(Exception):
    """The message is not taken: `code` "AE" (its content is at fault) or "AR" (its type or
    version is not supported). `control_id` is its MSH-10 when that could be read."""

    def __init__(self, code: str, problems: Sequence[Problem], control_id: str | None) -> None:
        self.code = code
        self.problems = tuple(problems)
        self.control_id = control_id
        super().__init__(f"{code}: " + "; ".join(p.text for p in self.problems))


# --- decoding ------------------------------------------------------------------------------

# HL7 table 0211. "UNICODE" alone names no encoding; a message whose MSH was readable as ASCII can
# only be in an ASCII-compatible one, which for Unicode is UTF-8.
_CHARSETS: dict[str, str] = {
    "": "utf-8",
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
    "UNICODE": "utf-8",
}


def decode(data: bytes) -> str:
    """The message's bytes as text, in the character set MSH-18 names (none: UTF-8)."""
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark, as some Windows gateways send
        data = data[3:]
    view = data.decode("latin-1")  # one char per byte: positions match, never fails
    header = view.lstrip("\r\n")
    control_id = _lenient_control_id(header)
    nul = view.find("\x00")
    if nul >= 0:
        raise Rejected("AE", (_problem_at(view, nul, 102, "contains a NUL byte"),), control_id)
    charset = _msh_field(header, 18)
    if charset is None:
        raise Rejected(
            "AE", (Problem("MSH", 1, 0, 100, "the message does not start with MSH"),), control_id
        )
    name = charset.split(_encoding_chars(header)[2], 1)[0].strip().upper()  # the first repetition
    codec = _CHARSETS.get(name)
    if codec is None:
        problem = Problem("MSH", 1, 18, 103, f"character set {name[:40]!r} is not supported")
        raise Rejected("AE", (problem,), control_id)
    try:
        return data.decode(codec)  # strict: invalid bytes and UTF-8-encoded surrogates raise
    except UnicodeDecodeError as error:
        text = f"a byte is not valid {name or 'UTF-8'} (MSH-18)"
        raise Rejected("AE", (_problem_at(view, error.start, 102, text),), control_id) from None


def _encoding_chars(view: str) -> str:
    """Field separator then component, repetition, escape, subcomponent (defaults if unsure)."""
    if len(view) >= 8 and view.startswith("MSH"):
        return view[3] + view[4:8]
    return "|^~\\&"


def _msh_field(view: str, number: int) -> str | None:
    """MSH-`number` as raw text, read leniently; None when the text has no MSH first."""
    if not view.startswith("MSH") or len(view) < 4:
        return None
    end = len(view)
    for terminator in ("\r", "\n"):
        found = view.find(terminator, 0, end)
        if found >= 0:
            end = found
    parts = view[:end].split(view[3], number)  # parts[n - 1] is MSH-n for n >= 2
    return parts[number - 1] if number >= 2 and len(parts) > number - 1 else ""


def _lenient_control_id(view: str) -> str | None:
    raw = _msh_field(view, 10)
    if not raw:
        return None
    value = _clean(_unescape(raw, _Delimiters.of(_encoding_chars(view))))
    return value[:MAX_CONTROL_ID] or None


def _problem_at(view: str, position: int, code: int, text: str) -> Problem:
    """A problem located at a character position: which segment, which occurrence, which field."""
    start = max(view.rfind("\r", 0, position), view.rfind("\n", 0, position)) + 1
    name = view[start : start + 3]
    if not _SEGMENT_NAME.fullmatch(name):
        return Problem("MSH", 1, 0, code, text)
    separator = view[3] if view.startswith("MSH") and len(view) > 3 else "|"
    field = view.count(separator, start, position) + (1 if name == "MSH" else 0)
    earlier = _LINE_BREAK.split(view[:start])  # linear: one pass, however many segments
    sequence = 1 + sum(1 for line in earlier if line.startswith(name))
    return Problem(name, sequence, field, code, f"{name}-{field}: {text}")


# --- the pieces of a message ---------------------------------------------------------------

_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
_LINE_BREAK = re.compile(r"[\r\n]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# HL7 NM (2.A): an optional sign, digits and a decimal point; no exponent, no NaN, no infinity.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_DTM = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?(?:([+-])(\d{2})(\d{2}))?",
    re.ASCII,  # \d is 0-9 only: "٩٧" is not a number in HL7
)
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


@dataclass(frozen=True)
class _Delimiters:
    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str

    @classmethod
    def of(cls, chars: str) -> "_Delimiters":
        return cls(chars[0], chars[1], chars[2], chars[3], chars[4])


STANDARD = _Delimiters("|", "^", "~", "\\", "&")


def _clean(text: str) -> str:
    """Text as it may be shown: no control characters, no lone surrogates, no outer blanks."""
    if text.isprintable() and (not text or (text[0] != " " and text[-1] != " ")):
        return text  # the common case, checked in C
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", text)).strip()


def _unescape(text: str, d: _Delimiters) -> str:
    """HL7 2.6 section 2.7 escape sequences: the delimiters (F S T R E), hex data (X), and the
    formatting ones (H N .br ...) dropped. Never longer than its input; an escape without its end
    is kept as written."""
    if d.escape not in text:
        return text
    out: list[str] = []
    position = 0
    while True:
        start = text.find(d.escape, position)
        if start < 0:
            out.append(text[position:])
            break
        end = text.find(d.escape, start + 1)
        if end < 0:
            out.append(text[position:])
            break
        out.append(text[position:start])
        code = text[start + 1 : end]
        replacement = {
            "F": d.field,
            "S": d.component,
            "T": d.subcomponent,
            "R": d.repetition,
            "E": d.escape,
        }.get(code)
        if replacement is not None:
            out.append(replacement)
        elif code.startswith("X") and _HEX.fullmatch(code[1:]):
            out.append(bytes.fromhex(code[1:]).decode("utf-8", "replace"))
        elif code.startswith(".br"):
            out.append(" ")
        position = end + 1
    return "".join(out)


class _Segment:
    """One segment, split into at most `width` fields: field(n) is SEG-n (MSH-n for MSH)."""

    __slots__ = ("fields", "name", "occurrence", "position")

    def __init__(self, raw: str, d: _Delimiters, width: int, position: int, occurrence: int):
        parts = raw.split(d.field, width + 1)[: width + 1]
        self.name = parts[0]
        self.fields = [parts[0], d.field, *parts[1:]] if self.name == "MSH" else parts
        self.position = position  # 1-based, counting every segment
        self.occurrence = occurrence  # 1-based among segments of this name

    def field(self, number: int) -> str:
        return self.fields[number] if number < len(self.fields) else ""


def _components(field: str, d: _Delimiters, count: int) -> list[str]:
    """The first repetition's first `count` components, unescaped and cleaned."""
    first = field.split(d.repetition, 1)[0]
    parts = first.split(d.component, count)[:count]
    parts += [""] * (count - len(parts))
    return [_clean(_unescape(p.split(d.subcomponent, 1)[0], d)) for p in parts]


def _repetitions(field: str, d: _Delimiters, limit: int) -> list[str]:
    return field.split(d.repetition, limit)[:limit]


# Fields each segment is read to (MSH-21, OBR-7, OBX-18, PV1-3): a segment is split no further.
_WIDTH = {"MSH": 21, "OBR": 7, "OBX": 18, "PV1": 3}


# --- reading -------------------------------------------------------------------------------

# HL7 table 0085 (observation result status). PCD-01 devices send R ("results entered, not
# verified") for live measurements; F (final), C (corrected, replaces a final), P (preliminary)
# and S (partial) still carry a value measured on the patient. X ("results cannot be obtained")
# is how PCD-01 marks the MDS/VMD/channel containment rows (no value); D (delete), W (wrong, post
# original as wrong), I (pending), N (not asked), O (order detail only), U (status change only)
# carry no usable value.
_VALUE_STATUSES = frozenset({"R", "F", "C", "P", "S"})

# OBX-8 (abnormal flags) in PCD-01 also carries the IEEE 11073 measurement status and the null
# flavors (IHE PCD TF Vol 2 OBX-8; IHE wiki "NullFlavorsInPCD"). H, L, HH, LL... are alarms, kept.
_TEST_FLAGS = frozenset({"TEST", "DEMO"})
_INVALID_FLAGS = frozenset({"INV", "QUES", "CAL"})
_NULL_FLAVORS = frozenset({"NI", "NA", "NAV", "OFF", "MSK", "OTH", "NAN", "PINF", "NINF"})

# HL7 table 0103 (processing id, MSH-11.1): P production; T training and D debugging are not a
# real patient's data and are never stored as vitals.
_PROCESSING_IDS = frozenset({"P", "T", "D"})


@dataclass
class _Candidate:
    metric: mdc.Metric
    value: float
    taken_at: datetime
    unit: str
    segment: _Segment


def parse(text: str, *, zone: tzinfo) -> DeviceReport:
    """One PCD-01 ORU^R01 (HL7 2.5, 2.5.1 or 2.6) as a DeviceReport; raises Rejected."""
    text = text.lstrip("\r\n")  # blank lines before MSH: some senders start with one
    if not text.startswith("MSH") or len(text) < 8:
        problem = Problem("MSH", 1, 0, 100, "the message does not start with MSH")
        raise Rejected("AE", (problem,), None)
    control_id = _lenient_control_id(text)
    if "\x00" in text:
        problem = _problem_at(text, text.index("\x00"), 102, "NUL character")
        raise Rejected("AE", (problem,), control_id)
    surrogate = _SURROGATE.search(text)
    if surrogate:
        problem = _problem_at(text, surrogate.start(), 102, "a lone surrogate is not a character")
        raise Rejected("AE", (problem,), control_id)
    # MSH-1 and MSH-2: four encoding characters in 2.5 and 2.6 (2.7 adds a fifth, truncation).
    chars = text[3:8]
    encoding = text[4 : text.find(text[3], 4)] if text.find(text[3], 4) > 0 else ""
    if (
        len(encoding) not in (4, 5)
        or len(set(chars)) != 5
        or any(c.isalnum() or c.isspace() for c in chars)
    ):
        text_ = "MSH-1/MSH-2: the separators must be 5 distinct symbols, e.g. |^~\\&"
        raise Rejected("AE", (Problem("MSH", 1, 2, 102, text_),), control_id)
    d = _Delimiters.of(chars)
    segments = _segments(text, d, control_id)
    return _Reader(segments, d, zone, control_id).report()


def _segments(text: str, d: _Delimiters, control_id: str | None) -> list[_Segment]:
    """Every segment that matters, split only as far as read. Segment terminator: CR (HL7);
    LF and CRLF are taken too, as files and some gateways send them."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    segments: list[_Segment] = []
    seen: dict[str, int] = {}
    position = 0
    for line in lines:
        if not line.strip():
            continue
        position += 1
        name = line[:3]
        if not _SEGMENT_NAME.fullmatch(name) or (len(line) > 3 and line[3] != d.field):
            problem = Problem("MSH", 1, 0, 100, f"segment {position} is not an HL7 segment")
            raise Rejected("AE", (problem,), control_id)
        seen[name] = occurrence = seen.get(name, 0) + 1
        if name == "MSH" and position > 1:
            problem = Problem("MSH", occurrence, 0, 100, "one message per frame: a second MSH")
            raise Rejected("AE", (problem,), control_id)
        width = _WIDTH.get(name)
        if width is not None:
            segments.append(_Segment(line, d, width, position, occurrence))
    return segments


def occurrence_at(text: str, position: int) -> int | None:
    """Which occurrence of its name the segment at `position` is (both 1-based, as
    `DeviceObservation.segment` counts and ERR-2 wants): the 3rd OBX is 3. None past the end."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    segments = [line[:3] for line in lines if line.strip()]
    if not 1 <= position <= len(segments):
        return None
    return segments[:position].count(segments[position - 1])


class _Reader:
    def __init__(
        self, segments: list[_Segment], d: _Delimiters, zone: tzinfo, control_id: str | None
    ) -> None:
        self.segments = segments
        self.d = d
        self.zone = zone
        self.control_id = control_id
        self.problems: list[Problem] = []
        self.skipped: dict[Skip, int] = {}

    def fail(self, segment: _Segment, field: int, code: int, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            label = f"{segment.name}-{field}" if field else segment.name
            self.problems.append(
                Problem(segment.name, segment.occurrence, field, code, f"{label}: {text}")
            )

    def skip(self, reason: Skip) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def report(self) -> DeviceReport:
        msh = self.segments[0]
        self.check_header(msh)
        sent_at = self.time(msh, 7, required=True)
        version = _components(msh.field(12), self.d, 1)[0]
        processing = _components(msh.field(11), self.d, 1)[0].upper()
        if not processing:
            self.fail(msh, 11, 101, "processing id is required (P, T or D)")
        if self.control_id is None:
            self.fail(msh, 10, 101, "message control id is required")
        elif len(msh.field(10)) > MAX_CONTROL_ID:
            self.fail(msh, 10, 102, f"message control id is longer than {MAX_CONTROL_ID}")
        candidates = self.observations(testing=processing in ("T", "D"), sent_at=sent_at)
        observations = self.choose(candidates)
        if self.problems:
            raise Rejected("AE", self.problems, self.control_id)
        assert sent_at is not None and self.control_id is not None  # else a problem was raised
        device, label = self.device(msh)
        return DeviceReport(
            sender=self.sender(msh),
            control_id=self.control_id,
            version=version,
            sent_at=sent_at,
            device=device,
            device_label=label,
            bed=self.bed(),
            observations=tuple(observations),
            skipped=dict(self.skipped),
        )

    def check_header(self, msh: _Segment) -> None:
        """MSH-9, MSH-11, MSH-12: what HL7 2.6 section 2.9 answers with AR when not supported."""
        kind, event, structure = _components(msh.field(9), self.d, 3)
        version = _components(msh.field(12), self.d, 1)[0]
        processing = _components(msh.field(11), self.d, 1)[0].upper()
        problem: Problem | None = None
        if kind.upper() != "ORU" or (structure and structure.upper() != "ORU_R01"):
            shown = "^".join(p for p in (kind, event, structure) if p)[:40] or "nothing"
            problem = Problem("MSH", 1, 9, 200, f"MSH-9: {shown!r} is not ORU^R01 (IHE PCD-01)")
        elif event.upper() != "R01":
            problem = Problem("MSH", 1, 9, 201, f"MSH-9: event {event[:10]!r} is not R01")
        elif version not in SUPPORTED_VERSIONS:
            supported = ", ".join(SUPPORTED_VERSIONS)
            text = f"MSH-12: version {version[:20]!r} is not supported ({supported})"
            problem = Problem("MSH", 1, 12, 203, text)
        elif processing and processing not in _PROCESSING_IDS:
            problem = Problem("MSH", 1, 11, 202, f"MSH-11: processing id {processing[:5]!r}")
        if problem is not None:
            raise Rejected("AR", (problem,), self.control_id)

    def time(
        self, segment: _Segment, field: int, *, required: bool = False, raw: str | None = None
    ) -> datetime | None:
        if raw is None:
            raw = _components(segment.field(field), self.d, 1)[0]
        if not raw:
            if required:
                self.fail(segment, field, 101, "a date and time is required")
            return None
        moment = parse_dtm(raw, self.zone)
        if moment is None:
            self.fail(
                segment,
                field,
                102,
                f"{raw[:30]!r} is not a time (YYYYMMDDHHMM[SS[.S]][+/-ZZZZ])",
            )
        return moment

    def observations(self, *, testing: bool, sent_at: datetime | None) -> list[_Candidate]:
        candidates: list[_Candidate] = []
        request_time: datetime | None = None
        seen_obr = seen_obx = False
        for segment in self.segments[1:]:
            if segment.name == "OBR":
                seen_obr = True
                request_time = self.time(segment, 7)
            elif segment.name == "OBX":
                seen_obx = True
                if not seen_obr:
                    self.fail(segment, 0, 100, "an OBX must follow its OBR (ORU^R01 structure)")
                    continue
                if testing:
                    self.skip(Skip.TEST)
                    continue
                candidate = self.observation(segment, request_time or sent_at)
                if candidate is not None:
                    candidates.append(candidate)
        if not seen_obr:
            self.fail(self.segments[0], 0, 100, "an ORU^R01 needs an OBR segment")
        elif not seen_obx:
            # A PCD-01 message exists to report observations (IHE PCD TF Vol 2: at least one OBX
            # per OBR); one with none is a misconfigured sender, told so by AE. One whose rows are
            # all device rows, invalid or test is fine (a sensor off) and is accepted with counts.
            self.fail(self.segments[0], 0, 100, "an ORU^R01 from a device needs OBX rows")
        return candidates

    def observation(self, obx: _Segment, fallback: datetime | None) -> _Candidate | None:
        """One OBX as a candidate vital, or None with the reason counted."""
        value_type = _components(obx.field(2), self.d, 1)[0].upper()
        status = _components(obx.field(11), self.d, 1)[0].upper()
        value_raw = obx.field(5)
        if not value_type:  # PCD-01 MDS / VMD / channel containment rows have no value type
            self.skip(Skip.DEVICE_ROW)
            return None
        if status == "X":
            self.skip(Skip.DEVICE_ROW if not value_raw else Skip.INVALID)
            return None
        if status not in _VALUE_STATUSES:
            self.skip(Skip.INVALID)
            return None
        flags = {
            _clean(_unescape(f, self.d)).upper() for f in _repetitions(obx.field(8), self.d, 8)
        }
        if flags & _TEST_FLAGS:
            self.skip(Skip.TEST)
            return None
        if flags & _INVALID_FLAGS:
            self.skip(Skip.INVALID)
            return None
        if flags & _NULL_FLAVORS:
            self.skip(Skip.NOT_NUMERIC)
            return None
        metric = _metric(_components(obx.field(3), self.d, 6))
        if metric is None:
            self.skip(Skip.UNKNOWN_CODE)
            return None
        if metric.vital is None:
            self.skip(Skip.UNUSED)
            return None
        # NM has no use for escape sequences: one in OBX-5 makes the value not a number.
        value_text = value_raw.strip(" ")
        if value_type != "NM" or not _NUMBER.fullmatch(value_text):
            self.skip(Skip.NOT_NUMERIC)
            return None
        unit_parts = _components(obx.field(6), self.d, 6)
        unit = _unit(unit_parts)
        if unit is None or unit.dimension != metric.dimension:
            self.skip(Skip.UNKNOWN_UNIT)
            return None
        if value_text.startswith("-") and float(value_text) != 0:
            # A negative rate, pressure, saturation or temperature is never a measurement: it is
            # a vendor's "no value" marker (-1, -100 in Mindray's guides, -999), tests/data/hl7.
            self.skip(Skip.NOT_NUMERIC)
            return None
        value = _to_vital(metric.vital, float(value_text), unit)
        error = (
            range_error(metric.vital, value)
            if math.isfinite(value)
            else f"{value_text[:20]}… is not a possible {VITALS[metric.vital].label.lower()}"
        )
        if error:
            self.fail(obx, 5, 102, error)
            return None
        when = _components(obx.field(14), self.d, 1)[0]
        taken_at = self.time(obx, 14, raw=when) if when else fallback
        if taken_at is None:
            return None  # its time was at fault (already a problem), or MSH-7 was
        # The unit as sent: an MDC unit by its name (readable), a UCUM unit by its code.
        mdc_named = unit_parts[2].upper() == "MDC" and unit_parts[1]
        shown_unit = unit_parts[1] if mdc_named else unit_parts[0] or unit_parts[1]
        return _Candidate(metric, value, taken_at, shown_unit[:40], obx)

    def choose(self, candidates: list[_Candidate]) -> list[DeviceObservation]:
        """One value per vital and time: the best-ranked code, then the first row (so a pulse
        rate stands in for the heart rate only when no ECG heart rate came at that time)."""
        best: dict[tuple[str, datetime], _Candidate] = {}
        for candidate in candidates:
            assert candidate.metric.vital is not None
            key = (candidate.metric.vital, candidate.taken_at)
            current = best.get(key)
            if current is None or candidate.metric.rank < current.metric.rank:
                if current is not None:
                    self.skip(Skip.SUPERSEDED)
                best[key] = candidate
            else:
                self.skip(Skip.SUPERSEDED)
        pressures: dict[datetime, dict[str, _Candidate]] = {}
        for (vital, moment), candidate in best.items():
            if vital in ("systolic", "diastolic"):
                pressures.setdefault(moment, {})[vital] = candidate
        for pair in pressures.values():
            systolic, diastolic = pair.get("systolic"), pair.get("diastolic")
            error = blood_pressure_error(
                systolic.value if systolic else None, diastolic.value if diastolic else None
            )
            if error and diastolic is not None:
                self.fail(diastolic.segment, 5, 102, error)
        chosen = sorted(best.values(), key=lambda c: c.segment.position)
        return [
            DeviceObservation(
                vital=c.metric.vital or "",
                value=c.value,
                taken_at=c.taken_at,
                mdc_code=c.metric.code,
                mdc_name=c.metric.name,
                unit=c.unit,
                segment=c.segment.position,
            )
            for c in chosen
        ]

    def device(self, msh: _Segment) -> tuple[str | None, str | None]:
        """The EUI-64 from the first OBX-18 that carries one (PCD-01 sends it as an EI, the
        EUI in EI-1 with "EUI-64" in EI-2, or in EI-3 with EI-4 "EUI-64"; GE puts its model name in
        EI-2), else from MSH-3 (HD: namespace ^ universal id ^ "EUI-64")."""
        for segment in self.segments:
            if segment.name != "OBX":
                continue
            for repetition in _repetitions(segment.field(18), self.d, 4):
                parts = _components(repetition, self.d, 4)
                eui = _eui_in(parts)
                if eui:
                    namespace = parts[1]
                    label = None if _names_eui(namespace) or not namespace else namespace
                    return eui, label[:MAX_TEXT] if label else self.sender_label(msh, eui)
        parts = _components(msh.field(3), self.d, 3)
        eui = _eui64(parts[1]) if _names_eui(parts[2]) else _eui64(parts[0])
        return eui, self.sender_label(msh, eui) if eui else None

    def sender_label(self, msh: _Segment, eui: str | None) -> str | None:
        namespace = _components(msh.field(3), self.d, 1)[0]
        if not namespace or _eui64(namespace) == eui:
            return None
        return namespace[:MAX_TEXT]

    def sender(self, msh: _Segment) -> str:
        """MSH-3 and MSH-4 (when sent), each as namespace ^ universal id ^ type, `|` between."""
        application, facility = (
            "^".join(_components(msh.field(n), self.d, 3)).rstrip("^") for n in (3, 4)
        )
        return (f"{application}|{facility}" if facility else application)[: 2 * MAX_TEXT]

    def bed(self) -> str | None:
        """PV1-3 (PL): point of care ^ room ^ bed, as sent (trailing empty parts dropped)."""
        for segment in self.segments:
            if segment.name == "PV1":
                text = "^".join(_components(segment.field(3), self.d, 3)).rstrip("^")
                return text[:MAX_TEXT] or None
        return None


def _metric(parts: list[str]) -> mdc.Metric | None:
    """The vital an OBX-3 (CWE) names: the MDC triplet, first or alternate (components 4-6)."""
    for identifier, text, system in (parts[0:3], parts[3:6]):
        if system.upper() != "MDC" and not (not system and text.startswith("MDC_")):
            continue
        if _is_code(identifier):
            return mdc.METRICS.get(int(identifier))
        if text:
            return mdc.METRICS_BY_NAME.get(text)
    return None


def _is_code(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 9


def _unit(parts: list[str]) -> mdc.Unit | None:
    """OBX-6 (CWE) in MDC (code or name) or UCUM, first or alternate triplet."""
    for identifier, text, system in (parts[0:3], parts[3:6]):
        system = system.upper()
        if system == "MDC" or (not system and _is_code(identifier)):
            if _is_code(identifier):
                found = mdc.MDC_UNITS.get(int(identifier))
                if found:
                    return found[1]
            if text in mdc.MDC_UNITS_BY_NAME:
                return mdc.MDC_UNITS_BY_NAME[text]
        elif system in ("UCUM", "") and identifier in mdc.UCUM_UNITS:
            return mdc.UCUM_UNITS[identifier]
    return None


def _to_vital(vital: str, value: float, unit: mdc.Unit) -> float:
    converted = value * unit.scale + unit.offset
    if not math.isfinite(converted):
        return converted
    if VITALS[vital].integer:
        return float(math.floor(converted + 0.5))  # half up, as a person reads a display
    return round(converted, 2)


def _names_eui(text: str) -> bool:
    return text.upper().replace("-", "").replace("_", "") == "EUI64"


def _eui64(text: str) -> str | None:
    """16 hex digits (separators "-" or ":" allowed), upper-case; None if it is not one."""
    digits = text.replace("-", "").replace(":", "")
    if len(digits) == 16 and _HEX.fullmatch(digits):
        return digits.upper()
    return None


def _eui_in(parts: list[str]) -> str | None:
    """The EUI-64 an EI (OBX-18) names: EI-3 when EI-4 says "EUI-64", else EI-1 when it is one."""
    entity, _namespace, universal, universal_type = parts
    if _names_eui(universal_type) and _eui64(universal):
        return _eui64(universal)
    return _eui64(entity)


def parse_dtm(raw: str, zone: tzinfo) -> datetime | None:
    """HL7 DTM to an aware UTC datetime; at least minutes; no offset: `zone`. None if invalid."""
    match = _DTM.fullmatch(raw)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")[:6]),
        )
        if sign:
            if int(off_m) >= 60:
                return None
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            aware = naive.replace(tzinfo=timezone(-offset if sign == "-" else offset))
        else:
            aware = naive.replace(tzinfo=zone)
        return aware.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# --- acknowledging -------------------------------------------------------------------------

_ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})
_VERSION = re.compile(r"[0-9]\.[0-9]{1,2}(?:\.[0-9]{1,2})?")


def _escape(text: str, d: _Delimiters = STANDARD) -> str:
    """Text made safe for one HL7 component (section 2.7), with the escape character first."""
    text = _clean(text)
    return (
        text.replace(d.escape, f"{d.escape}E{d.escape}")
        .replace(d.field, f"{d.escape}F{d.escape}")
        .replace(d.component, f"{d.escape}S{d.escape}")
        .replace(d.subcomponent, f"{d.escape}T{d.escape}")
        .replace(d.repetition, f"{d.escape}R{d.escape}")
    )


def ack(
    text: str | None,
    code: str,
    problems: Sequence[Problem] = (),
    *,
    control_id: str | None = None,
) -> str:
    """The original-mode ACK (HL7 2.6 section 2.9.2) for a message: MSH with sender and receiver
    swapped, MSA-1 `code`, MSA-2 its MSH-10, one ERR per problem. Never raises."""
    try:
        return _ack(text, code, problems, control_id)
    except Exception:  # a reply must go out whatever came in
        return _ack(None, code if code in _ACK_CODES else "AR", (), None)


def _ack(text: str | None, code: str, problems: Sequence[Problem], control_id: str | None) -> str:
    code = code if code in _ACK_CODES else "AE"
    header = text[: 64 * 1024].lstrip("\r\n") if isinstance(text, str) else ""
    header = header if header.startswith("MSH") else ""
    theirs = _Delimiters.of(_encoding_chars(header)) if header else STANDARD

    def field(number: int, components: int) -> str:
        raw = _msh_field(header, number) if header else ""
        parts = _components(raw or "", theirs, components)
        return "^".join(_escape(p[:MAX_TEXT]) for p in parts).rstrip("^")

    version = _components(_msh_field(header, 12) or "", theirs, 1)[0] if header else ""
    processing = _components(_msh_field(header, 11) or "", theirs, 1)[0] if header else ""
    if control_id is None and header:
        control_id = _lenient_control_id(header)
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    msh = [
        "MSH",
        "^~\\&",
        field(5, 3) or "VIGIL",  # we answer as the application it sent to
        field(6, 3),
        field(3, 3),
        field(4, 3),
        now,
        "",
        "ACK^R01^ACK",
        uuid.uuid4().hex[:20],  # fresh; 20 characters fit HL7 2.5's ST(20) as well
        processing.upper() if processing.upper() in _PROCESSING_IDS else "P",
        version if _VERSION.fullmatch(version) else "2.6",
    ]
    segments = ["MSH|" + "|".join(msh[1:])]
    segments.append(f"MSA|{code}|{_escape((control_id or '')[:MAX_CONTROL_ID])}")
    for problem in list(problems)[:MAX_PROBLEMS]:
        number = problem.code if problem.code in ERROR_TEXTS else 207
        location = "^".join(
            (
                _escape(str(problem.segment)[:3]),
                str(max(0, min(int(problem.sequence), 99_999))),
                str(max(0, min(int(problem.field), 999))),
            )
        )
        reason = f"{number}^{_escape(ERROR_TEXTS.get(number, 'Error'))}^HL70357"
        detail = _escape(str(problem.text)[:500])
        # ERR-1 (ELD) is kept empty as 2.5+ deprecate it; ERR-8 is the user message.
        segments.append(f"ERR||{location}|{reason}|E||||{detail}")
    return "\r".join(segments) + "\r"


# --- writing -------------------------------------------------------------------------------

PROFILE = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"  # MSH-21, IHE PCD TF Vol 2


def format_dtm(moment: datetime) -> str:
    """HL7 DTM with the moment's own offset (+/-ZZZZ): to the second, or to the millisecond
    when it has a fraction (readings a simulator plays at 60x are 17 ms apart)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a time written to HL7 needs its offset")
    fraction = f".{moment.microsecond // 1000:03d}" if moment.microsecond else ""
    return moment.strftime("%Y%m%d%H%M%S") + fraction + moment.strftime("%z")


def _format_value(vital: str, value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"{vital}: {value} is not a number")
    if VITALS[vital].integer:
        return str(math.floor(value + 0.5))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def build_oru(
    *,
    device: str,
    values: Mapping[str, float],
    taken_at: datetime,
    control_id: str,
    sender: str = "VIGIL_SIM",
    bed: tuple[str, str, str] | None = None,
    version: str = "2.6",
) -> str:
    """A PCD-01 ORU^R01 with Vigil's vitals (ReadingIn field names) measured at `taken_at`:
    MSH with the PCD-01 profile, PID, PV1 with the bed, OBR, then the containment rows (1.0.0.0
    the monitor, 1.V.0.0 each virtual device) and one metric row per value (1.V.1.N) with its
    time and the EUI-64. `bed` is PV1-3's point of care, room and bed (Vigil's site, room and
    chair), each escaped."""
    return build_oru_series(
        device=device,
        rounds=[(taken_at, values)],
        control_id=control_id,
        sender=sender,
        bed=bed,
        version=version,
    )


def build_oru_series(
    *,
    device: str,
    rounds: Sequence[tuple[datetime, Mapping[str, float]]],
    control_id: str,
    sender: str = "VIGIL_SIM",
    bed: tuple[str, str, str] | None = None,
    version: str = "2.6",
) -> str:
    """`build_oru` with several rounds of values, each with its own time (OBX-14), in one
    message: a monitor's backlog, or a simulator's seconds played at 60x."""
    eui = _eui64(device)
    if eui is None:
        raise ValueError("device must be an EUI-64 (16 hex digits)")
    if not rounds:
        raise ValueError("a message needs at least one round of values")
    unknown = sorted({name for _, values in rounds for name in values} - set(VITALS))
    if unknown:
        raise ValueError(f"not vitals a device sends: {', '.join(unknown)}")
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"version must be one of {', '.join(SUPPORTED_VERSIONS)}")
    if not control_id or len(control_id) > MAX_CONTROL_ID:
        raise ValueError("control_id must be 1 to 199 characters")
    first = format_dtm(rounds[0][0])
    ident = f"{_escape(sender)}^{eui}^EUI-64"
    segments = [
        f"MSH|^~\\&|{ident}||VIGIL||{first}||ORU^R01^ORU_R01|{_escape(control_id)}|P|{version}"
        f"|||NE|AL||UNICODE UTF-8|||{PROFILE}",
        "PID|1",
        f"PV1||I|{'^'.join(_escape(part) for part in bed)}" if bed else "PV1||I",
        f"OBR|1|{_escape(control_id)}^{ident}|{_escape(control_id)}^{ident}"
        f"|182777000^monitoring of patient^SCT|||{first}",
        f"OBX|1||{mdc.MDS_MONITOR[0]}^{mdc.MDS_MONITOR[1]}^MDC|1.0.0.0|||||||X"
        f"|||{first}||||{eui}^EUI-64",
    ]
    row = 1
    for taken_at, values in rounds:
        when = format_dtm(taken_at)
        groups: dict[tuple[int, str], list[str]] = {}
        for vital in VITALS:
            if vital in values:
                groups.setdefault(mdc.VMD_FOR_VITAL[vital], []).append(vital)
        for number, (vmd, vitals) in enumerate(groups.items(), start=1):
            row += 1
            segments.append(f"OBX|{row}||{vmd[0]}^{vmd[1]}^MDC|1.{number}.0.0|||||||X")
            for metric_number, vital in enumerate(vitals, start=1):
                row += 1
                metric = mdc.METRICS[mdc.CODE_FOR_VITAL[vital]]
                unit_code, unit_name = (
                    mdc.RESP_UNIT
                    if vital == "respiratory_rate"
                    else mdc.WRITE_UNITS[metric.dimension]
                )
                segments.append(
                    f"OBX|{row}|NM|{metric.code}^{metric.name}^MDC|1.{number}.1.{metric_number}"
                    f"|{_format_value(vital, values[vital])}|{unit_code}^{unit_name}^MDC|||||R"
                    f"|||{when}||||{eui}^EUI-64"
                )
    return "\r".join(segments) + "\r"
