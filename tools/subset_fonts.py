"""Cut the Arabic-script fonts down to what Sulh's languages use, so that an Urdu page on a 3G phone loads one
small font instead of 420 KB (issue: "Light on a 3G phone").

    .venv/bin/python tools/subset_fonts.py

reads the full faces in tools/fonts-src/ (Noto, SIL Open Font License: OFL.txt) and writes static/fonts/:

- Noto Nastaliq Urdu, regular only, with the letters, marks, digits and punctuation of Urdu (and the shaping rules
  for them): the only face an Urdu page loads. Bold is synthesised; Urdu headings read well in it.
- Noto Naskh Arabic, regular only (bold is synthesised), with the whole Arabic block (Arabic, Dari, Pashto and Urdu letters): the face
  of Arabic, Dari and Pashto pages, and the fallback for a letter the Nastaliq cut lacks.

Latin text uses the system's own font. Needs `pip install fonttools==4.69.1 brotli==1.2.1` (not in
requirements.txt: with brotli installed WhiteNoise would Brotli-compress every static file at each collectstatic,
minutes on a small machine); the outputs are committed, so neither is needed to run Sulh.
"""

from __future__ import annotations

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tools" / "fonts-src"
TARGET = ROOT / "static" / "fonts"

CONTROLS = [0x20, 0xA0, 0x200C, 0x200D, 0x200E, 0x200F, 0x2066, 0x2067, 0x2068, 0x2069]
URDU_LETTERS = "ءآأؤئابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنںوہھۃیےۓةكيى"
URDU = (
    [ord(c) for c in URDU_LETTERS]
    + list(range(0x064B, 0x0657))  # harakat, with hamza above and below
    + [0x0670, 0x0640]  # superscript alef, tatweel
    + list(range(0x0660, 0x066E))  # Arabic-Indic digits and separators
    + list(range(0x06F0, 0x06FA))  # Extended Arabic-Indic (Urdu) digits
    + [ord(c) for c in "،؛؟۔"]
    + CONTROLS
)
ARABIC_BLOCK = list(range(0x0600, 0x0700)) + CONTROLS

CUTS = [
    ("noto-nastaliq-urdu-arabic-400-normal.woff2", "noto-nastaliq-urdu-400.woff2", URDU),
    ("noto-naskh-arabic-arabic-400-normal.woff2", "noto-naskh-arabic-400.woff2", ARABIC_BLOCK),
]


def cut(source: Path, target: Path, unicodes: list[int]) -> int:
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]  # Every shaping rule the kept letters need (joining, Nastaliq's cascade).
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    font.flavor = "woff2"
    font.save(target)
    return target.stat().st_size


def main() -> None:
    for source, target, unicodes in CUTS:
        size = cut(SOURCE / source, TARGET / target, unicodes)
        print(f"{target}: {size / 1024:.1f} KiB (from {(SOURCE / source).stat().st_size / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
