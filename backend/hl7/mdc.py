"""IEEE 11073 codes Vigil reads from (and writes to) IHE PCD-01 messages: plain data.

Observation codes are the "context-free" MDC codes of IEEE 11073-10101 (partition × 65536 + term
code), as published in the NIST/IHE Rosetta Terminology Mapping (RTM) that PCD-01 senders must use
(IHE PCD TF Vol 2, OBX-3). Each entry was also checked against vendors' published PCD-01 messages
(tests/data/hl7/SOURCES.md): GE B40 (147842, 149530, 150456, 151562, 150344), LinkWatch (150021,
150022, 149546). The units likewise (GE: 264864, 262688, 264928, 266016, 268192), and Philips'
MDIL unit codes (0004-0F20 mmHg, 0004-1140 °F) confirm the partition-4 terms.
"""

from dataclasses import dataclass
from enum import StrEnum


class Dimension(StrEnum):
    RATE = "rate"  # per minute: beats or breaths
    PRESSURE = "pressure"
    PERCENT = "percent"
    TEMPERATURE = "temperature"


@dataclass(frozen=True)
class Metric:
    code: int  # context-free MDC code (partition 2, SCADA: 2 × 65536 + term)
    name: str  # its RTM reference id
    vital: str | None  # the ReadingIn field it gives, None when Vigil reads it but does not keep it
    dimension: Dimension
    rank: int  # when two rows give the same vital at the same time, the lower rank wins


# Partition 2 (SCADA) of IEEE 11073-10101; the comment is the term code in hex as the standard
# lists it. `rank` encodes the rule that a pulse rate stands in for the heart rate only
# when no ECG heart rate came at that time.
METRICS: dict[int, Metric] = {
    m.code: m
    for m in (
        Metric(147842, "MDC_ECG_HEART_RATE", "heart_rate", Dimension.RATE, 0),  # 0x4182
        Metric(149530, "MDC_PULS_OXIM_PULS_RATE", "heart_rate", Dimension.RATE, 1),  # 0x481A
        Metric(149546, "MDC_PULS_RATE_NON_INV", "heart_rate", Dimension.RATE, 2),  # 0x482A
        Metric(150021, "MDC_PRESS_BLD_NONINV_SYS", "systolic", Dimension.PRESSURE, 0),  # 0x4A05
        Metric(150022, "MDC_PRESS_BLD_NONINV_DIA", "diastolic", Dimension.PRESSURE, 0),  # 0x4A06
        Metric(150023, "MDC_PRESS_BLD_NONINV_MEAN", None, Dimension.PRESSURE, 0),  # 0x4A07
        Metric(150301, "MDC_PRESS_CUFF_SYS", "systolic", Dimension.PRESSURE, 1),  # 0x4B0D
        Metric(150302, "MDC_PRESS_CUFF_DIA", "diastolic", Dimension.PRESSURE, 1),  # 0x4B0E
        Metric(150303, "MDC_PRESS_CUFF_MEAN", None, Dimension.PRESSURE, 1),  # 0x4B0F
        Metric(150456, "MDC_PULS_OXIM_SAT_O2", "spo2", Dimension.PERCENT, 0),  # 0x4BB8
        Metric(151562, "MDC_RESP_RATE", "respiratory_rate", Dimension.RATE, 0),  # 0x500A
        Metric(151578, "MDC_TTHOR_RESP_RATE", "respiratory_rate", Dimension.RATE, 1),  # 0x501A
        Metric(150364, "MDC_TEMP_BODY", "temperature", Dimension.TEMPERATURE, 0),  # 0x4B5C
        Metric(150344, "MDC_TEMP", "temperature", Dimension.TEMPERATURE, 1),  # 0x4B48
    )
}

METRICS_BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS.values()}

# What the writer sends for each Vigil vital (the first-ranked code of each).
CODE_FOR_VITAL: dict[str, int] = {
    "heart_rate": 147842,
    "systolic": 150021,
    "diastolic": 150022,
    "spo2": 150456,
    "respiratory_rate": 151562,
    "temperature": 150364,
}


@dataclass(frozen=True)
class Unit:
    dimension: Dimension
    scale: float  # value in Vigil's unit = value × scale + offset
    offset: float = 0.0


_MMHG_PER_KPA = 760 / 101.325  # 1 atm = 101.325 kPa = 760 mmHg (exact by definition)

# Units in partition 4 (dimensions) of IEEE 11073-10101: 4 × 65536 + term; the term's low five bits
# are a decimal prefix (kPa = pascal 0x0F00 + kilo 3 = 0x0F03).
MDC_UNITS: dict[int, tuple[str, Unit]] = {
    262688: ("MDC_DIM_PERCENT", Unit(Dimension.PERCENT, 1.0)),  # 0x0220
    264864: ("MDC_DIM_BEAT_PER_MIN", Unit(Dimension.RATE, 1.0)),  # 0x0AA0
    264928: ("MDC_DIM_RESP_PER_MIN", Unit(Dimension.RATE, 1.0)),  # 0x0AE0
    266016: ("MDC_DIM_MMHG", Unit(Dimension.PRESSURE, 1.0)),  # 0x0F20
    265987: ("MDC_DIM_KILO_PASCAL", Unit(Dimension.PRESSURE, _MMHG_PER_KPA)),  # 0x0F03
    268192: ("MDC_DIM_DEGC", Unit(Dimension.TEMPERATURE, 1.0)),  # 0x17A0
    266560: ("MDC_DIM_FAHR", Unit(Dimension.TEMPERATURE, 5 / 9, -32 * 5 / 9)),  # 0x1140
}

MDC_UNITS_BY_NAME: dict[str, Unit] = {name: unit for name, unit in MDC_UNITS.values()}

# UCUM (the Unified Code for Units of Measure, case-sensitive form), which PCD-01 allows beside
# MDC in OBX-6 (coding system "UCUM"); the curly-brace annotations are UCUM's way of naming what is
# counted and do not change the unit.
UCUM_UNITS: dict[str, Unit] = {
    "%": Unit(Dimension.PERCENT, 1.0),
    "/min": Unit(Dimension.RATE, 1.0),
    "1/min": Unit(Dimension.RATE, 1.0),
    "{beat}/min": Unit(Dimension.RATE, 1.0),
    "{beats}/min": Unit(Dimension.RATE, 1.0),
    "{pulse}/min": Unit(Dimension.RATE, 1.0),
    "{breath}/min": Unit(Dimension.RATE, 1.0),
    "{breaths}/min": Unit(Dimension.RATE, 1.0),
    "{resp}/min": Unit(Dimension.RATE, 1.0),
    "mm[Hg]": Unit(Dimension.PRESSURE, 1.0),
    "kPa": Unit(Dimension.PRESSURE, _MMHG_PER_KPA),
    "Cel": Unit(Dimension.TEMPERATURE, 1.0),
    "[degF]": Unit(Dimension.TEMPERATURE, 5 / 9, -32 * 5 / 9),
}

# The unit the writer sends for each dimension: MDC code, name, and its UCUM form.
WRITE_UNITS: dict[Dimension, tuple[int, str]] = {
    Dimension.RATE: (264864, "MDC_DIM_BEAT_PER_MIN"),
    Dimension.PRESSURE: (266016, "MDC_DIM_MMHG"),
    Dimension.PERCENT: (262688, "MDC_DIM_PERCENT"),
    Dimension.TEMPERATURE: (268192, "MDC_DIM_DEGC"),
}
RESP_UNIT: tuple[int, str] = (264928, "MDC_DIM_RESP_PER_MIN")

# The containment rows PCD-01 puts before the metrics (IHE PCD TF Vol 2, "MDS-VMD-Channel-Metric"
# hierarchy in OBX-4): the monitor (MDS) and one virtual medical device per vital group; the
# codes as GE's B40 PCD-01 interface sends them (69965, 69798, 69642, 69854, 70666, 69902).
MDS_MONITOR = (69965, "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS")
VMD_FOR_VITAL: dict[str, tuple[int, str]] = {
    "heart_rate": (69798, "MDC_DEV_ECG_VMD"),
    "spo2": (69642, "MDC_DEV_ANALY_SAT_O2_VMD"),
    "systolic": (69854, "MDC_DEV_METER_PRESS_BLD_VMD"),
    "diastolic": (69854, "MDC_DEV_METER_PRESS_BLD_VMD"),
    "respiratory_rate": (70666, "MDC_DEV_ECG_RESP_VMD"),
    "temperature": (69902, "MDC_DEV_METER_TEMP_VMD"),
}
