"""The record: currencies and their minor digits, and the strict validation of one line.

Part of the independent recomputation (tests/recompute.py): plain Python, standard library
only, never spate's engine."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from typing import Iterable, NamedTuple

# --------------------------------------------------------------------------------------------
# Currencies: ISO 4217 codes and their minor digits, as ICU's currency data gives them (the
# digits are CLDR's: AFN, ALL, IQD, IRR, KPW, LAK, LBP, MMK, RSD, SLL, SOS, SYP and YER have
# 0 where ISO says 2 or 3). Written out here so that the recomputation does not ask spate.
# --------------------------------------------------------------------------------------------

_DIGITS_TEXT = """
AED:2 AFN:0 ALL:0 AMD:2 ANG:2 AOA:2 ARS:2 AUD:2 AWG:2 AZN:2 BAM:2 BBD:2 BDT:2 BGN:2 BHD:3
BIF:0 BMD:2 BND:2 BOB:2 BRL:2 BSD:2 BTN:2 BWP:2 BYN:2 BZD:2 CAD:2 CDF:2 CHF:2 CLP:0 CNY:2
COP:2 CRC:2 CUC:2 CUP:2 CVE:2 CZK:2 DJF:0 DKK:2 DOP:2 DZD:2 EGP:2 ERN:2 ETB:2 EUR:2 FJD:2
FKP:2 GBP:2 GEL:2 GHS:2 GIP:2 GMD:2 GNF:0 GTQ:2 GYD:2 HKD:2 HNL:2 HRK:2 HTG:2 HUF:2 IDR:2
ILS:2 INR:2 IQD:0 IRR:0 ISK:0 JMD:2 JOD:3 JPY:0 KES:2 KGS:2 KHR:2 KMF:0 KPW:0 KRW:0 KWD:3
KYD:2 KZT:2 LAK:0 LBP:0 LKR:2 LRD:2 LSL:2 LYD:3 MAD:2 MDL:2 MGA:0 MKD:2 MMK:0 MNT:2 MOP:2
MRU:2 MUR:2 MVR:2 MWK:2 MXN:2 MYR:2 MZN:2 NAD:2 NGN:2 NIO:2 NOK:2 NPR:2 NZD:2 OMR:3 PAB:2
PEN:2 PGK:2 PHP:2 PKR:2 PLN:2 PYG:0 QAR:2 RON:2 RSD:0 RUB:2 RWF:0 SAR:2 SBD:2 SCR:2 SDG:2
SEK:2 SGD:2 SHP:2 SLE:2 SLL:0 SOS:0 SRD:2 SSP:2 STN:2 SYP:0 SZL:2 THB:2 TJS:2 TMT:2 TND:3
TOP:2 TRY:2 TTD:2 TWD:2 TZS:2 UAH:2 UGX:0 USD:2 UYU:2 UZS:2 VEF:2 VES:2 VND:0 VUV:0 WST:2
XAF:0 XCD:2 XOF:0 XPF:0 YER:0 ZAR:2 ZMW:2 BOV:2 CHE:2 CHW:2 CLF:4 CNH:2 COU:2 MXV:2 USN:2
USS:2 UYI:0 UYW:4 VED:2 XAG:2 XAU:2 XBA:2 XBB:2 XBC:2 XBD:2 XDR:2 XFO:2 XFU:2 XPD:2 XPT:2
XSU:2 XTS:2 XUA:2 XXX:2
"""
DIGITS = {c: int(d) for c, d in (x.split(":") for x in _DIGITS_TEXT.split())}


def iso_code(spelling: str) -> str | None:
    """The ISO code of a record's currency text ("EU", the reference's spelling, is EUR)."""
    if spelling == "EU":
        return "EUR"
    return spelling if spelling in DIGITS else None


# --------------------------------------------------------------------------------------------
# Strict validation of one record line.
# --------------------------------------------------------------------------------------------

FIELDS = ("transactionId", "userId", "amount", "transactionTime", "merchantId",
          "transactionType", "location", "paymentMethod", "isInternational", "currency")
GROUP_FIELDS = ("merchantId", "userId", "location", "currency", "paymentMethod")
STRING_FIELDS = ("transactionId", "userId", "merchantId", "transactionType", "location",
                 "paymentMethod")
ERROR_CODES = frozenset({"invalid_json", "missing_field", "duplicate_field", "wrong_type",
                         "out_of_range", "bad_value", "trailing_content", "bad_binary",
                         "bad_avro", "unknown_schema", "schema_mismatch"})
TIME_FORMATS = ("epoch-ms", "epoch-s", "epoch-us", "rfc3339")

MAX_AMOUNT = 10**18 - 1            # in minor units, either sign
MIN_TIME_MS = 946_684_800_000      # 2000-01-01T00:00:00Z
MAX_TIME_MS = 4_102_444_800_000    # 2100-01-01T00:00:00Z (included)
MAX_ID_BYTES = 256


@dataclasses.dataclass(frozen=True)
class RecordFormat:
    """How the records are written: field names (role -> name), time format, id length limit."""
    names: tuple = FIELDS
    time: str = "epoch-ms"
    max_id_bytes: int = MAX_ID_BYTES

    def name(self, role: str) -> str:
        return self.names[FIELDS.index(role)]

    @staticmethod
    def with_fields(specs: Iterable[str], time: str = "epoch-ms",
                    max_id_bytes: int = MAX_ID_BYTES) -> "RecordFormat":
        """specs: ROLE=NAME texts (spate's --field)."""
        names = list(FIELDS)
        for s in specs:
            role, name = s.split("=", 1)
            names[FIELDS.index(role)] = name
        return RecordFormat(tuple(names), time, max_id_bytes)

    @property
    def canonical(self) -> bool:
        return self.names == FIELDS and self.time == "epoch-ms" and self.max_id_bytes >= 1


DEFAULT_FORMAT = RecordFormat()


class Txn(NamedTuple):
    """A valid record: amount in minor units of its currency, time in epoch ms, currency as
    its ISO code (spelling: as the record wrote it), isInternational "True" or "False"."""
    seq: int
    transactionId: str
    userId: str
    amount: int
    transactionTime: int
    merchantId: str
    transactionType: str
    location: str
    paymentMethod: str
    isInternational: str
    currency: str
    spelling: str

    @property
    def digits(self) -> int:
        return DIGITS[self.currency]


class Reject(Exception):
    """A dead letter: `code` is our best guess of spate's error code (informational only)."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class _RawInt(str):
    """The raw text of a JSON number without fraction or exponent."""


class _RawFloat(str):
    """The raw text of a JSON number with a fraction and/or an exponent."""


class _Object(list):
    """A JSON object as its list of (key, value) pairs, duplicates kept."""


def _reject_constant(name: str):
    raise Reject("invalid_json", f"non-standard constant {name}")


_DECODER = json.JSONDecoder(object_pairs_hook=_Object, parse_int=_RawInt,
                            parse_float=_RawFloat, parse_constant=_reject_constant, strict=True)
# JSON number grammar (the parser has already enforced it; this only splits the parts).
_NUMBER_RE = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?")


def amount_minor(text: str, digits: int = 2) -> int:
    """Exact minor units of a JSON number's text in a currency with `digits` decimals: zeros
    past them are fine, other digits are not (bad_value); at most 18 digits (out_of_range)."""
    m = _NUMBER_RE.fullmatch(text)
    if m is None:
        raise Reject("bad_value", f"amount {text!r} is not a decimal number")
    sign, whole, frac, exp = m.groups()
    frac = frac or ""
    sig = int(whole + frac)
    scale = digits - len(frac) + (int(exp) if exp else 0)
    if sig == 0:
        return 0
    while sig % 10 == 0:
        sig //= 10
        scale += 1
    if scale < 0:
        raise Reject("bad_value", f"amount {text!r} has more than {digits} decimals")
    if len(str(sig)) + scale > 18:
        raise Reject("out_of_range", f"amount {text!r} is more than 18 digits in minor units")
    v = sig * 10**scale
    return -v if sign else v


def amount_cents(text: str) -> int:
    """amount_minor of a two-decimal currency (USD, EUR, GBP)."""
    return amount_minor(text, 2)


def _days_from_civil(y: int, m: int, d: int) -> int:
    return (datetime.date(y, m, d) - datetime.date(1970, 1, 1)).days


_RFC3339_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                         r"(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))")
_EPOCH_RE = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?")


def time_ms(value, fmt: str) -> int:
    """Epoch ms of a transactionTime value (a raw JSON number or a string) in format fmt."""
    if fmt == "rfc3339":
        if type(value) is not str:  # noqa: E721
            raise Reject("wrong_type", "transactionTime is not a string")
        m = _RFC3339_RE.fullmatch(value)
        if m is None:
            raise Reject("bad_value", f"transactionTime {value!r} is not RFC 3339")
        y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
        if not (1 <= mo <= 12 and h <= 23 and mi <= 59 and s <= 60):
            raise Reject("bad_value", f"transactionTime {value!r} is not a date-time")
        try:
            days = _days_from_civil(y, mo, d)
        except ValueError:
            raise Reject("bad_value", f"transactionTime {value!r} is not a date") from None
        frac = ((m.group(7) or "") + "000")[:3]
        offset = 0
        if m.group(9):
            oh, om = int(m.group(10)), int(m.group(11))
            if oh > 23 or om > 59:
                raise Reject("bad_value", f"transactionTime {value!r}: bad offset")
            offset = (oh * 60 + om) * (-1 if m.group(9) == "-" else 1)
        ms = (days * 86400 + h * 3600 + mi * 60 + s - offset * 60) * 1000 + int(frac)
    else:
        if not isinstance(value, (_RawInt, _RawFloat)):
            raise Reject("wrong_type", "transactionTime is not a number")
        m = _EPOCH_RE.fullmatch(value)
        if m is None or (m.group(3) is not None and fmt != "epoch-s"):
            raise Reject("bad_value", f"transactionTime {value!r} is not an integer")
        if m.group(1):
            raise Reject("out_of_range", f"transactionTime {value} is negative")
        whole = int(m.group(2))
        if fmt == "epoch-ms":
            ms = whole
        elif fmt == "epoch-us":
            ms = whole // 1000
        else:
            ms = whole * 1000 + int(((m.group(3) or "") + "000")[:3])
    if not MIN_TIME_MS <= ms <= MAX_TIME_MS:
        raise Reject("out_of_range", f"transactionTime {value} out of range")
    return ms


# Fast path: the canonical shape (spate's names in its order, no escapes, epoch ms), a strict
# subset of what the full validator accepts. A line that matches and whose values check out is
# valid with these values; anything else goes through the full validator.
_S = rb'"([^"\\\x00-\x1f]+)"'
_CANONICAL_RE = re.compile(
    rb'\{"transactionId":' + _S + rb',"userId":' + _S +
    rb',"amount":(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?),"transactionTime":([1-9][0-9]{0,12}),'
    rb'"merchantId":' + _S + rb',"transactionType":' + _S + rb',"location":' + _S +
    rb',"paymentMethod":' + _S + rb',"isInternational":"(True|False)","currency":"([A-Z]{2,3})"\}')


def validate(line: bytes, seq: int = 0, fmt: RecordFormat = DEFAULT_FORMAT) -> Txn:
    """Parses one record line strictly; returns a Txn or raises Reject."""
    m = _CANONICAL_RE.fullmatch(line) if fmt.canonical else None
    if m is not None:
        g = m.groups()
        code = iso_code(g[9].decode())
        ttime = int(g[3])
        if (code is not None and MIN_TIME_MS <= ttime <= MAX_TIME_MS
                and all(len(g[i]) <= fmt.max_id_bytes for i in (0, 1, 4, 5, 6, 7))):
            try:
                s = [x.decode("utf-8") for x in g]
                amount = amount_minor(s[2], DIGITS[code])
            except (UnicodeDecodeError, Reject):
                return validate_full(line, seq, fmt)
            return Txn(seq, s[0], s[1], amount, ttime, s[4], s[5], s[6], s[7], s[8], code, s[9])
    return validate_full(line, seq, fmt)


def _string_field(name: str, value) -> str:
    if type(value) is not str:  # noqa: E721  (_RawInt/_RawFloat are str subclasses)
        raise Reject("wrong_type", f"{name} is not a string")
    return value


def validate_full(line: bytes, seq: int = 0, fmt: RecordFormat = DEFAULT_FORMAT) -> Txn:
    """The full strict validator (no fast path)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Reject("invalid_json", f"invalid UTF-8: {e}") from None
    try:
        obj = _DECODER.decode(text)
    except json.JSONDecodeError as e:
        code = "trailing_content" if e.msg == "Extra data" else "invalid_json"
        raise Reject(code, e.msg) from None
    except RecursionError:
        raise Reject("invalid_json", "nesting too deep") from None
    if not isinstance(obj, _Object):
        raise Reject("wrong_type", "record is not a JSON object")

    role_of = {n: r for r, n in zip(FIELDS, fmt.names)}
    values = {}
    for key, value in obj:
        role = role_of.get(key)
        if role is not None:
            if role in values:
                raise Reject("duplicate_field", f"duplicate field {key}")
            values[role] = value
    for role in FIELDS:
        if role not in values:
            raise Reject("missing_field", f"missing field {fmt.name(role)}")

    strings = {}
    for role in STRING_FIELDS:
        s = _string_field(role, values[role])
        try:
            n = len(s.encode("utf-8"))
        except UnicodeEncodeError:
            raise Reject("invalid_json", f"{role}: a lone surrogate") from None
        if n == 0:
            raise Reject("bad_value", f"{role} is empty")
        if n > fmt.max_id_bytes:
            raise Reject("bad_value", f"{role} is {n} bytes, more than {fmt.max_id_bytes}")
        strings[role] = s

    ttime = time_ms(values["transactionTime"], fmt.time)

    intl = values["isInternational"]
    if intl == "true" or intl == "True" or (type(intl) is bool and intl):
        intl = "True"
    elif intl == "false" or intl == "False" or (type(intl) is bool and not intl):
        intl = "False"
    elif type(intl) is str:  # noqa: E721
        raise Reject("bad_value", f"isInternational {intl!r} not allowed")
    else:
        raise Reject("wrong_type", "isInternational is not a boolean or a string")

    spelling = _string_field("currency", values["currency"])
    code = iso_code(spelling)
    if code is None:
        raise Reject("bad_value", f"currency {spelling!r} is not an ISO 4217 code")

    amount = values["amount"]
    if not isinstance(amount, (_RawInt, _RawFloat)):
        raise Reject("wrong_type", "amount is not a number")
    minor = amount_minor(amount, DIGITS[code])

    return Txn(seq, strings["transactionId"], strings["userId"], minor, ttime,
               strings["merchantId"], strings["transactionType"], strings["location"],
               strings["paymentMethod"], intl, code, spelling)


def split_lines(data: bytes) -> list[bytes]:
    """gen output -> list of record lines (the final newline does not start a record)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines
