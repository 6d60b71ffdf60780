"""A sounds folder for queue tests: the real prompts (en, fr, moh/default,
linked) plus test prompts and a music-on-hold class that are pure tones,
so that a recording tells exactly when each was heard."""

import os

from .audio import make_tone
from .proc import ROOT


def sounds_dir(base, prompts, moh=None):
    """base/sounds with prompts {name: (Hz, seconds)} at its top and, with
    moh = (class, Hz), a class playing that tone for ever (30 s, looped)."""
    d = os.path.join(base, "sounds")
    os.makedirs(os.path.join(d, "moh"), exist_ok=True)
    real = os.path.join(ROOT, "sounds")
    for sub in ("en", "fr"):
        os.symlink(os.path.join(real, sub), os.path.join(d, sub))
    os.symlink(os.path.join(real, "moh", "default"), os.path.join(d, "moh", "default"))
    for name, (hz, secs) in prompts.items():
        make_tone(os.path.join(d, name + ".wav"), hz, secs, pad=0)
    if moh:
        cls, hz = moh
        os.makedirs(os.path.join(d, "moh", cls))
        make_tone(os.path.join(d, "moh", cls, "tone.wav"), hz, 30, pad=0)
    return d
