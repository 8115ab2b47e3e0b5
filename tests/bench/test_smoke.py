"""The benchmark harness on a few hundred contacts, so that `make bench` never rots.

No timing is asserted (the figures are measured by `make bench`, not here):
the run must reach every page and endpoint, count its queries and write its
table and JSON.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.customers.test_scale import load

ROOT = Path(__file__).resolve().parents[2]


def harness() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db
def test_the_harness_measures_every_figure_on_a_small_demo(
    settings: Any, tmp_path: Path, capsys: Any
) -> None:
    settings.RAPPORT_DEMO_BULK_THRESHOLD = 100
    load(300)
    run = harness()
    run.RESULTS = tmp_path  # type: ignore[attr-defined]

    figures, panels, subjects = run._measure(3)
    run._print(figures, panels, {}, "sqlite", 300)
    run._save(figures, panels, {}, "sqlite", 300, 3)

    names = [figure.name for figure in figures]
    assert "contact list, first page" in names
    assert any(name.startswith("contact detail, ") and "timeline" in name for name in names)
    assert "trivial JSON endpoint" in names
    for figure in figures:
        assert figure.median_ms > 0
        assert figure.p95_ms >= figure.median_ms
    # Query counts are what the list and detail pages must keep fixed.
    by_name = {figure.name: figure for figure in figures}
    assert by_name["contact list, first page"].queries > 0
    assert "timeline" in [row["panel"] for row in panels]
    assert subjects["busiest"] != subjects["contact"] or len(figures) > 0
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert saved["contacts"] == 300
    assert len(saved["figures"]) == len(figures)
    assert "contact list, first page" in capsys.readouterr().out
