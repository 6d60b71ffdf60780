"""Audio made and measured for tests: tones, WAV reading, Goertzel."""

import subprocess
import sys
import wave
from array import array
from math import cos, pi, sqrt


def make_tone(path, freq_hz, seconds, pad=30, volume=0.5):
    """8 kHz mono 16-bit sine of freq_hz for `seconds`, then `pad` s of silence
    (baresip's aufile hangs up ~1 s after the file ends)."""
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    path, "synth", str(seconds), "sine", str(freq_hz), "vol", str(volume),
                    "pad", "0", str(pad)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return path


def make_silence(path, seconds):
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    path, "trim", "0", str(seconds)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return path


def read_wav(path, max_seconds=60):
    """(samples as array('h') of the first channel, rate).  Falls back to sox
    conversion for WAV flavours the wave module does not read."""
    try:
        w = wave.open(path, "rb")
    except (wave.Error, EOFError):
        conv = path + ".pcm16.wav"
        subprocess.run(["sox", path, "-b", "16", "-e", "signed-integer", conv],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        w = wave.open(conv, "rb")
    with w:
        rate, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        nframes = min(w.getnframes(), int(rate * max_seconds))
        raw = w.readframes(nframes)
    if width != 2:
        raise ValueError("%s: %d-byte samples unsupported" % (path, width))
    a = array("h")
    a.frombytes(raw[:len(raw) - len(raw) % 2])
    if sys.byteorder == "big":
        a.byteswap()
    if ch > 1:
        a = a[0::ch]
    return a, rate


def goertzel_power(samples, freq, rate):
    """Power of samples at freq (Goertzel), normalised as 2|X|^2/N^2 so that a
    sine of amplitude A at freq gives A^2/2, its mean power."""
    n = len(samples)
    if n == 0:
        return 0.0
    coeff = 2.0 * cos(2.0 * pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + coeff * s1 - s2
        s2 = s1
        s1 = s0
    p = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2.0 * p / (n * n)


def tone_powers(samples, rate, freqs, block=400):
    """Per-frequency power summed over blocks, plus the total signal power.
    Blocks (50 ms at 8 kHz) keep the measure robust to phase jumps from jitter
    buffers and packet loss concealment."""
    powers = {f: 0.0 for f in freqs}
    total = 0.0
    nblocks = 0
    for i in range(0, len(samples) - block + 1, block):
        b = samples[i:i + block]
        total += sum(x * x for x in b) / block
        for f in freqs:
            powers[f] += goertzel_power(b, f, rate)
        nblocks += 1
    return powers, total, nblocks


SILENCE_RMS = 100.0   # of 32767: below this the recording counts as silence


def dominant_tone(wav_path, candidates, skip=0.0):
    """(freq, ratio, info): the candidate frequency with most energy in the file
    and its energy divided by the strongest other candidate's.  freq is None when
    the file is silent or no candidate carries at least 30 % of the signal."""
    samples, rate = read_wav(wav_path)
    samples = samples[int(skip * rate):]
    powers, total, nblocks = tone_powers(samples, rate, candidates)
    info = {"powers": powers, "total": total, "blocks": nblocks,
            "rms": sqrt(total / nblocks) if nblocks else 0.0}
    if not nblocks or info["rms"] < SILENCE_RMS:
        return (None, 0.0, info)
    best = max(candidates, key=lambda f: powers[f])
    others = [powers[f] for f in candidates if f != best]
    ratio = powers[best] / max(max(others) if others else 0.0, 1e-9)
    info["fraction"] = powers[best] / total if total else 0.0
    if info["fraction"] < 0.3:
        return (None, ratio, info)
    return (best, ratio, info)


def tone_present(wav_path, freq, min_fraction=0.3, skip=0.0):
    """True when the file is not silent and at least min_fraction of its power
    (over blocks with signal) sits at freq."""
    samples, rate = read_wav(wav_path)
    samples = samples[int(skip * rate):]
    block = 400
    p = 0.0
    total = 0.0
    active = 0
    for i in range(0, len(samples) - block + 1, block):
        b = samples[i:i + block]
        e = sum(x * x for x in b) / block
        if e < SILENCE_RMS * SILENCE_RMS:
            continue
        total += e
        p += goertzel_power(b, freq, rate)
        active += 1
    if not active:
        return False
    return p / total >= min_fraction


def tone_duration(wav_path, freq, min_fraction=0.5, block=400):
    """Seconds of the file (in blocks of `block` samples, 50 ms by default)
    where freq carries at least min_fraction of a non-silent block's power."""
    samples, rate = read_wav(wav_path)
    n = 0
    for i in range(0, len(samples) - block + 1, block):
        b = samples[i:i + block]
        e = sum(x * x for x in b) / block
        if e >= SILENCE_RMS * SILENCE_RMS and goertzel_power(b, freq, rate) / e >= min_fraction:
            n += 1
    return n * block / float(rate)


def rms(wav_path, start, end):
    """The root mean square of wav_path's samples from start to end s (0.0
    for nothing): is there sound at all (music on hold, a silent leg)."""
    samples, rate = read_wav(wav_path)
    part = samples[int(start * rate):int(end * rate)]
    return (sum(x * x for x in part) / len(part)) ** 0.5 if part else 0.0


def tone_runs(wav_path, freq, min_fraction=0.5, block=80):
    """The stretches of the file where freq dominates, as (start, length)
    in seconds, in blocks of `block` samples (10 ms by default): one run
    means the tone came through without a hole."""
    samples, rate = read_wav(wav_path)
    runs, start = [], None
    nblocks = (len(samples) - block) // block + 1 if len(samples) >= block else 0
    for k in range(nblocks + 1):
        hit = False
        if k < nblocks:
            b = samples[k * block:(k + 1) * block]
            e = sum(x * x for x in b) / block
            hit = e >= SILENCE_RMS * SILENCE_RMS and goertzel_power(b, freq, rate) / e >= min_fraction
        if hit and start is None:
            start = k
        elif not hit and start is not None:
            runs.append((start * block / float(rate), (k - start) * block / float(rate)))
            start = None
    return runs


def tone_spans(wav_path, freq, min_len=0.25, gap=0.3):
    """(start, end) of each stretch of freq, in seconds rounded to 10 ms:
    runs closer than gap s are one, those shorter than min_len s left out
    (a prompt's start and end, a ringback's cadence)."""
    out = []
    for start, length in tone_runs(wav_path, freq):
        if out and start - out[-1][1] < gap:
            out[-1] = (out[-1][0], start + length)
        else:
            out.append((start, start + length))
    return [(round(s, 2), round(e, 2)) for s, e in out if e - s >= min_len]


def heard(wav_path, freq, min_len=0.3, gap=0.5):
    """When freq was heard: (first start, last end, seconds in all) over its
    runs of at least min_len s (runs closer than gap s are one), or None.
    A phone records only what it receives, so times are positions in the
    recording: compare their order, not wall-clock times."""
    runs = []
    for start, length in tone_runs(wav_path, freq):
        if runs and start - (runs[-1][0] + runs[-1][1]) < gap:
            runs[-1] = (runs[-1][0], start + length - runs[-1][0])
        else:
            runs.append((start, length))
    runs = [r for r in runs if r[1] >= min_len]
    if not runs:
        return None
    return (runs[0][0], runs[-1][0] + runs[-1][1], sum(r[1] for r in runs))


DTMF_FREQS = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
              "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
              "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
              "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633)}


def make_dtmf(path, keys, lead=2.0, on=0.2, off=0.3, pad=30, level=0.25):
    """8 kHz mono 16-bit WAV: `lead` s of silence, then each key as its two
    DTMF tones for `on` s with `off` s between, then `pad` s of silence
    (baresip's aufile hangs up ~1 s after the file ends)."""
    import math
    import wave as _wave
    rate = 8000
    out = array("h", [0] * int(lead * rate))
    for k in keys:
        lo, hi = DTMF_FREQS[k]
        for i in range(int(on * rate)):
            v = level * 32767 * (math.sin(2 * math.pi * lo * i / rate) +
                                 math.sin(2 * math.pi * hi * i / rate))
            out.append(int(v))
        out.extend([0] * int(off * rate))
    out.extend([0] * int(pad * rate))
    if sys.byteorder == "big":
        out.byteswap()
    with _wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(out.tobytes())
    return path
