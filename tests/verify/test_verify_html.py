"""The HTML report, opened in a real headless Chromium and screenshotted."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from provenance.home.paths import Home
from tests.conftest import run, service_missing
from tests.verify.conftest import OTHER_NUMBERS, POSTER, doctored, record, unrecorded


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    service_missing(
        "chromium is not installed (apt-get install chromium); HTML not checked in a browser"
    )


def _screenshot(browser: str, page: Path, shot: Path, ud: Path, size: str) -> np.ndarray:
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
            "--hide-scrollbars",
            f"--user-data-dir={ud}",
            f"--screenshot={shot}",
            f"--window-size={size}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)


@pytest.mark.browser
def test_html_report_outlines_the_regions_of_an_altered_copy(
    home: Home, workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12: the doctored poster's report shows the copy with the altered numbers outlined."""
    from provenance.recovery.confirm import OUTLINE

    browser = _chromium()
    poster = workdir / "poster.png"
    record(capsys, "generate", POSTER, "-o", str(poster))
    recorded = Image.open(poster).convert("RGB")
    copy = tmp_path / "doctored.jpg"
    doctored(recorded, unrecorded(OTHER_NUMBERS)).save(copy, "JPEG", quality=85)
    page = tmp_path / "altered.html"
    _, out, _ = run(capsys, "verify", "--json", "--html", str(page), str(copy))
    [r] = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert r["ledger"]["pixels"]["state"] == "altered"
    html = page.read_text()
    assert "Possible match, altered" in html and "regions that differ, outlined" in html
    pixels = _screenshot(browser, page, tmp_path / "altered.png", tmp_path / "ud", "1000,1400")
    outlined = np.all(np.abs(pixels - np.array(OUTLINE)) < 40, axis=-1)
    assert outlined.sum() > 300, "no outline drawn in the page"
    # the outlines sit where the regions are: the picture is the copy at 480 px wide
    ys, xs = np.nonzero(outlined)
    regions = r["ledger"]["pixels"]["copy_regions"]
    k = 480 / recorded.width
    want_w = (max(b["x"] + b["width"] for b in regions) - min(b["x"] for b in regions)) * k
    want_h = (max(b["y"] + b["height"] for b in regions) - min(b["y"] for b in regions)) * k
    assert abs((xs.max() - xs.min()) - want_w) < 12, (xs.min(), xs.max(), want_w)
    assert abs((ys.max() - ys.min()) - want_h) < 12, (ys.min(), ys.max(), want_h)


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
    pixels = _screenshot(browser, page, tmp_path / "shot.png", tmp_path / "ud", "1200,2000")
    assert pixels.std() > 10  # not a blank page
    # the verdict badges are drawn: trusted green (#1b7f3b) appears on the page
    green = np.all(np.abs(pixels - np.array([0x1B, 0x7F, 0x3B])) < 12, axis=-1)
    assert green.sum() > 200
    # and at least one thumbnail: a block of varied colours inside the page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500
