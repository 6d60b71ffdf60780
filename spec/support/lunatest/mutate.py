"""Mutations of SIP messages for the network fuzzer (e2e 51): byte-level
(flips, inserts, deletes, truncation, splices) and SIP-aware (a header
doubled or dropped, a line cut, numbers at their limits, folded or huge
values, a wrong Content-Length, stray CRs and NULs), from a seeded
random generator so that a failing batch can be replayed."""

import random
import re

EXTREMES = [b"0", b"-1", b"4294967296", b"2147483648", b"99999999999999999999",
            b"18446744073709551616", b"", b"1e9", b"0x10"]
JUNK = [b"\x00", b"\r", b"\n", b"\r\n\r\n", b";", b",", b":", b"<", b">", b"\"", b"%",
        b"%00", b"\xff\xfe", b" " * 40, b"\t", b"z9hG4bK", b"sip:", b"@", b"[", b"]"]


def _lines(msg):
    head, sep, body = msg.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def _join(lines, body):
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def dup_header(rng, msg):
    lines, body = _lines(msg)
    if len(lines) > 1:
        i = rng.randrange(1, len(lines))
        lines.insert(i, lines[i])
    return _join(lines, body)


def drop_header(rng, msg):
    lines, body = _lines(msg)
    if len(lines) > 1:
        del lines[rng.randrange(1, len(lines))]
    return _join(lines, body)


def extreme_number(rng, msg):
    nums = list(re.finditer(rb"\d+", msg))
    if not nums:
        return msg
    m = rng.choice(nums)
    return msg[:m.start()] + rng.choice(EXTREMES) + msg[m.end():]


def huge_value(rng, msg):
    lines, body = _lines(msg)
    if len(lines) > 1:
        i = rng.randrange(1, len(lines))
        lines[i] += rng.choice([b"a", b";x=", b",", b"%41"]) * rng.choice([100, 2000, 20000])
    return _join(lines, body)


def fold(rng, msg):
    lines, body = _lines(msg)
    if len(lines) > 1:
        i = rng.randrange(1, len(lines))
        p = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:p] + b"\r\n " + lines[i][p:]
    return _join(lines, body)


def bad_length(rng, msg):
    return re.sub(rb"(?i)(content-length|\nl)\s*:\s*\d+",
                  lambda m: m.group(1) + b": " + rng.choice(EXTREMES + [b"5", b"500"]), msg, 1)


def junk(rng, msg):
    p = rng.randrange(len(msg) + 1)
    return msg[:p] + rng.choice(JUNK) + msg[p:]


def flip(rng, msg):
    b = bytearray(msg)
    for _ in range(rng.randint(1, 8)):
        if b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    return bytes(b)


def delete(rng, msg):
    if not msg:
        return msg
    p = rng.randrange(len(msg))
    return msg[:p] + msg[p + rng.randint(1, 16):]


def truncate(rng, msg):
    return msg[:rng.randrange(len(msg) + 1)]


def splice(rng, msg, other):
    return msg[:rng.randrange(len(msg) + 1)] + other[rng.randrange(len(other) + 1):]


MUTATORS = [dup_header, drop_header, extreme_number, huge_value, fold, bad_length, junk,
            flip, delete, truncate]


def mutate(rng, seeds):
    """One mutated message: a seed through 1-4 mutations (or a splice)."""
    msg = rng.choice(seeds)
    if rng.random() < 0.1:
        return splice(rng, msg, rng.choice(seeds))
    for _ in range(rng.randint(1, 4)):
        msg = rng.choice(MUTATORS)(rng, msg)
    return msg[:65000]
