"""Every sample set at once, seeded (the three generators of this folder).

    .venv/bin/python samples/make_samples.py --out samples/out [--n 6] [--seed 1]

Writes `documents/` (CVEC attestations, bac transcripts, JDC attestations: born-digital,
scanned PDF, phone JPEG), `idcards/` (old card, CNIe, passport; recto, verso and the
merged PDF) and `photos/` (labelled ID-photo variants), each with its truth files.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    python = sys.executable
    runs = [
        [
            python,
            str(HERE / "documents.py"),
            "--out",
            str(args.out / "documents"),
            "--n",
            str(args.n * 9),
            "--seed",
            str(args.seed),
        ],
        [
            python,
            str(HERE / "idcards.py"),
            "--out",
            str(args.out / "idcards"),
            "--n",
            str(max(1, args.n // 3)),
            "--seed",
            str(args.seed),
        ],
        [python, "-m", "samples.photos", str(args.out / "photos"), "--seed", str(args.seed)],
    ]
    for argv_ in runs:
        print("+", " ".join(argv_[1:]), flush=True)
        subprocess.run(argv_, check=True, cwd=HERE.parent)  # noqa: S603
    print(f"samples written under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
