"""Folding readings into a tile's trend buckets, as the ward's TileTrend.add does."""

from datetime import UTC, datetime, timedelta

from backend.readings.trend import BpBucket, LineBucket, Sample, bucket_key, fold

# A bucket boundary: a multiple of 15 s since the epoch.
T0 = datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_line_bucket_keeps_mean_lowest_highest_count_and_its_newest_time() -> None:
    trend = fold(
        [
            Sample(at(0), heart_rate=80),
            Sample(at(9), heart_rate=90),
            Sample(at(4), heart_rate=70),
        ],
        15,
    )
    (bucket,) = trend.lines["heart_rate"]
    assert bucket == LineBucket(t=at(9), sum=240, n=3, low=70, high=90)
    assert bucket.mean == 80
    assert trend.newest_taken_at == at(9)


def test_each_line_vital_counts_only_readings_that_carry_it() -> None:
    trend = fold([Sample(at(0), heart_rate=80, spo2=97), Sample(at(1), spo2=95)], 15)
    assert [(b.n, b.mean) for b in trend.lines["heart_rate"]] == [(1, 80)]
    assert [(b.n, b.mean) for b in trend.lines["spo2"]] == [(2, 96)]
    assert trend.lines["respiratory_rate"] == []
    assert trend.bp == []


def test_a_zero_is_a_value_not_a_missing_one() -> None:
    trend = fold([Sample(at(0), respiratory_rate=0), Sample(at(1), respiratory_rate=10)], 15)
    assert [(b.n, b.low, b.high) for b in trend.lines["respiratory_rate"]] == [(2, 0, 10)]


def test_buckets_start_on_multiples_of_their_length_since_the_epoch() -> None:
    trend = fold(
        [
            Sample(at(-0.001), heart_rate=60),  # the last millisecond of the previous bucket
            Sample(at(0), heart_rate=70),
            Sample(at(14.999), heart_rate=80),
            Sample(at(15), heart_rate=90),
        ],
        15,
    )
    assert [(b.t, b.n) for b in trend.lines["heart_rate"]] == [
        (at(-0.001), 1),
        (at(14.999), 2),
        (at(15), 1),
    ]
    assert bucket_key(at(14.999), 15) == bucket_key(T0, 15) == int(T0.timestamp()) * 1000
    assert bucket_key(at(7), 5) == bucket_key(at(5), 5) != bucket_key(at(4.999), 5)


def test_a_longer_bucket_gathers_more_readings() -> None:
    readings = [Sample(at(s), heart_rate=60 + s) for s in range(60)]
    assert [b.n for b in fold(readings, 15).lines["heart_rate"]] == [15, 15, 15, 15]
    assert [b.n for b in fold(readings, 60).lines["heart_rate"]] == [60]


def test_a_bucket_keeps_its_latest_blood_pressure_whatever_the_order_they_came_in() -> None:
    trend = fold(
        [
            Sample(at(5), systolic=130, diastolic=85),
            Sample(at(1), systolic=120, diastolic=80),  # older: does not replace it
            Sample(at(20), systolic=110, diastolic=70),
        ],
        15,
    )
    assert trend.bp == [BpBucket(at(5), 130, 85), BpBucket(at(20), 110, 70)]


def test_equal_times_in_a_bucket_keep_the_later_reading_as_the_browser_does() -> None:
    trend = fold([Sample(at(3), systolic=120, diastolic=80), Sample(at(3), systolic=125)], 15)
    assert trend.bp == [BpBucket(at(3), 125, 125)]


def test_one_half_of_a_blood_pressure_is_drawn_as_a_point() -> None:
    trend = fold([Sample(at(0), systolic=120), Sample(at(30), diastolic=75)], 15)
    assert trend.bp == [BpBucket(at(0), 120, 120), BpBucket(at(30), 75, 75)]


def test_buckets_come_oldest_first() -> None:
    trend = fold([Sample(at(s), heart_rate=70, systolic=120) for s in (90, 0, 45)], 15)
    assert [b.t for b in trend.lines["heart_rate"]] == [at(0), at(45), at(90)]
    assert [b.t for b in trend.bp] == [at(0), at(45), at(90)]


def test_no_readings_make_an_empty_trend() -> None:
    trend = fold([], 15)
    assert trend.lines == {"heart_rate": [], "spo2": [], "respiratory_rate": []}
    assert (trend.bp, trend.newest_taken_at) == ([], None)
