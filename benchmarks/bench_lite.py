"""How long a reader waits for a chapter in the browser: click to first result, and to Run All.

Run by hand (not a test), after ``make book``::

    .venv/bin/python benchmarks/bench_lite.py [--chapter chapters/08_explorers.ipynb] [--rounds 3]

It serves ``_build/html`` on 127.0.0.1 and opens the chapter's live notebook in headless Chromium, as
the link "Run this chapter in your browser" does, with every non-local request blocked. Each round
measures twice:

- **cold**: a fresh browser profile, so the runtime and its packages come from the server;
- **cached**: the same profile opened again, so the browser's cache serves them.

Printed per round, in seconds from the click: the interface shown, the kernel ready, the first output
of Run All (pressed as soon as the kernel is ready), and Run All finished. The machine is shared and
timings drift: the script prints every round and the medians.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("drive", ROOT / "lite" / "drive.py")
drive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drive)

COLUMNS = ("interface", "kernel ready", "first result", "run all")


def one_visit(playwright: object, profile: Path, url: str) -> dict[str, float]:
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=shutil.which("chromium") or shutil.which("google-chrome"),
        args=drive.CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900},
    )
    requests = drive.Requests().attach(context)
    page = context.new_page()
    opened = drive.open_notebook(page, url)
    ran = drive.run_all(page)
    errors = drive.errors(page)
    context.close()
    if errors or requests.remote:
        raise RuntimeError(f"the chapter did not run cleanly: {errors} {requests.remote[:3]}")
    return {
        "interface": opened["interface"],
        "kernel ready": opened["kernel ready"],
        "first result": opened["kernel ready"] + ran["first output"],
        "run all": opened["kernel ready"] + ran["run all"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", default="chapters/08_explorers.ipynb")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    args = parser.parse_args()
    measure_live(args.site, args.chapter, args.rounds)


def measure_live(site: Path, chapter: str, rounds: int) -> None:
    """Print, round by round and as medians, the times of ``chapter``'s live notebook on ``site``."""
    if not (site / "lite" / "notebooks" / "index.html").exists():
        raise SystemExit(f"no in-browser path in {site}: run `make book` first")
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict[str, float]]] = {"cold": [], "cached": []}
    print(f"{'round':>5} {'cache':>6} " + " ".join(f"{c:>13}" for c in COLUMNS))
    with drive.serve(site) as base, sync_playwright() as playwright:
        url = f"{base}/lite/notebooks/index.html?path={chapter}"
        for round_ in range(1, rounds + 1):
            with tempfile.TemporaryDirectory(prefix="bench-lite-") as profile:
                for cache in ("cold", "cached"):
                    times = one_visit(playwright, Path(profile), url)
                    results[cache].append(times)
                    print(
                        f"{round_:>5} {cache:>6} " + " ".join(f"{times[c]:>12.1f}s" for c in COLUMNS),
                        flush=True,
                    )
    for cache, rows in results.items():
        medians = {c: statistics.median(row[c] for row in rows) for c in COLUMNS}
        print(f"{'median':>5} {cache:>6} " + " ".join(f"{medians[c]:>12.1f}s" for c in COLUMNS))


if __name__ == "__main__":
    main()
