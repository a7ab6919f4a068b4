"""Retake the README's picture of a run's report: `python docs/report_screenshot.py RUN_DIR [OUT.png]`.

Headless Chromium (`apt-get install chromium`) opens RUN_DIR/report.html at 1,200 x 900 px, lets the map's
scripts settle, and saves the first screen (default docs/img/report.png). The README's picture is of the demo:
`territory-opt run configs/demo.yaml --out out/demo`, then this script on out/demo.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH, HEIGHT = 1200, 900


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    report = Path(sys.argv[1]).resolve() / "report.html"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).parent / "img" / "report.png").resolve()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None or not report.exists():
        raise SystemExit(f"needs headless Chromium and {report}")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=5000",
                        f"--screenshot={out}", report.as_uri()], check=True, capture_output=True, timeout=120)
    print(f"{out} written from {report}")


if __name__ == "__main__":
    main()
