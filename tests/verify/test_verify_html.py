"""The HTML report, opened in a real headless Chromium and screenshotted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from provenance.home.paths import Home
from tests.conftest import run, service_missing
from tests.verify.conftest import record


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    service_missing(
        "chromium is not installed (apt-get install chromium); HTML not checked in a browser"
    )


@pytest.mark.browser
def test_html_report_renders_with_thumbnails(
    home: Home,
    workdir: Path,
    tmp_path: Path,
    c2pa_fixtures: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    browser = _chromium()
    gen, edited = workdir / "gen.png", workdir / "edited.jpg"
    record(capsys, "generate", "A red circle on a white background", "-o", str(gen))
    record(capsys, "edit", str(gen), "-i", "grayscale", "-o", str(edited))
    third = c2pa_fixtures / "public-testfiles" / "adobe-20220124-CIE-sig-CA.jpg"
    page = tmp_path / "report.html"
    code, _, err = run(
        capsys,
        "verify",
        "--html",
        str(page),
        "--trust",
        str(c2pa_fixtures / "test-trust-anchors.pem"),
        str(edited),
        str(third),
    )
    assert code == 0, err
    html = page.read_text()
    assert html.count("data:image/") >= 4  # pictures of the file and its ancestors, inlined
    assert "http://" not in html.replace("http://cv.iptc.org", "")  # nothing to fetch
    assert "E-sig-CA.jpg" in html and "proof VERIFIED" in html
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'ud'}",
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.std() > 10  # not a blank page
    # the verdict badges are drawn: trusted green (#1b7f3b) appears on the page
    green = np.all(np.abs(pixels - np.array([0x1B, 0x7F, 0x3B])) < 12, axis=-1)
    assert green.sum() > 200
    # and at least one thumbnail: a block of varied colours inside the page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500
