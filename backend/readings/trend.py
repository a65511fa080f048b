"""A tile's trend as time buckets: each line vital's mean, range and count, and BP's latest bar.

The same folding as `TileTrend.add` in frontend/js/ward-trend.js, so buckets the server made and
readings the browser adds from the live stream fall into the same slots.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter

LINES = ("heart_rate", "spo2", "respiratory_rate")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Sample:
    """The trend's columns of one reading."""

    taken_at: datetime
    heart_rate: int | None = None
    spo2: int | None = None
    respiratory_rate: int | None = None
    systolic: int | None = None
    diastolic: int | None = None


@dataclass
class LineBucket:
    t: datetime  # the newest reading in the bucket
    sum: float
    n: int
    low: float
    high: float

    @property
    def mean(self) -> float:
        return self.sum / self.n


@dataclass
class BpBucket:
    t: datetime
    high: int  # systolic, or diastolic when only that half was measured
    low: int  # diastolic, or systolic when only that half was measured


@dataclass
class Trend:
    lines: dict[str, list[LineBucket]] = field(default_factory=dict)  # each oldest first
    bp: list[BpBucket] = field(default_factory=list)  # oldest first
    newest_taken_at: datetime | None = None  # of any reading folded


_by_time = attrgetter("t")


def bucket_key(taken_at: datetime, bucket_seconds: int) -> int:
    """The bucket's start in epoch milliseconds (taken_at must be timezone-aware)."""
    bucket_ms = bucket_seconds * 1000
    return (taken_at - _EPOCH) // _MS // bucket_ms * bucket_ms


def fold(readings: Iterable[Sample], bucket_seconds: int) -> Trend:
    """Fold readings (errored ones already left out) into buckets of `bucket_seconds`."""
    lines: dict[str, dict[int, LineBucket]] = {name: {} for name in LINES}
    bp: dict[int, BpBucket] = {}
    newest: datetime | None = None
    for reading in readings:
        t = reading.taken_at
        key = bucket_key(t, bucket_seconds)
        for name in LINES:
            value = getattr(reading, name)
            if value is None:
                continue
            bucket = lines[name].get(key)
            if bucket is None:
                lines[name][key] = LineBucket(t, value, 1, value, value)
                continue
            bucket.sum += value
            bucket.n += 1
            bucket.low = min(bucket.low, value)
            bucket.high = max(bucket.high, value)
            bucket.t = max(bucket.t, t)
        systolic, diastolic = reading.systolic, reading.diastolic
        if systolic is not None or diastolic is not None:
            current = bp.get(key)
            if current is None or current.t <= t:
                # Only one half measured still marks the moment: drawn as a point.
                high = systolic if systolic is not None else diastolic
                low = diastolic if diastolic is not None else systolic
                assert high is not None and low is not None
                bp[key] = BpBucket(t, high, low)
        if newest is None or t > newest:
            newest = t
    return Trend(
        lines={name: sorted(kept.values(), key=_by_time) for name, kept in lines.items()},
        bp=sorted(bp.values(), key=_by_time),
        newest_taken_at=newest,
    )
