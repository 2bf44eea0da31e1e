"""The diffusers backend, recorded: a tiny random-weights model loaded like a user's folder."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.diffusers.needs import require_diffusers

require_diffusers()

from provenance.backends.diffusers import MODEL_ASSERTION, DiffusersBackend  # noqa: E402
from provenance.backends.diffusers._weights import weights_digest  # noqa: E402
from provenance.credentials import make_context  # noqa: E402
from provenance.credentials.read import read_store  # noqa: E402
from provenance.home.ledger import open_ledger  # noqa: E402
from provenance.home.paths import Home  # noqa: E402
from provenance.record.recorder import Recorder  # noqa: E402
from provenance.record.reproduce import reproduce  # noqa: E402
from provenance.verify import verify_path  # noqa: E402
from provenance.verify.policy import default_policy  # noqa: E402
from tests.conftest import reports, run  # noqa: E402

FAST = {"steps": 2, "guidance": 5.0}


def _generate(home: Home, model: Path, out: Path, seed: int = 3) -> Any:
    with Recorder(home, backend=DiffusersBackend()) as rec:
        [o] = rec.generate(
            "a red cat", out, model=str(model), seed=seed, size="64x64", options=dict(FAST)
        )
    return o


def _entry(home: Home, sha256: str) -> dict[str, Any]:
    with open_ledger(home, read_only=True) as led:
        return led.find_by_output(sha256)[-1].body


def _model_assertion(home: Home, path: Path) -> dict[str, Any]:
    ctx = make_context(trust_anchors=home.ca_cert.read_text())
    reading = read_store(path.read_bytes(), "image/png", ctx)
    assert reading.active is not None
    for a in reading.active["assertions"]:
        if a["label"] == MODEL_ASSERTION:
            data: dict[str, Any] = a["data"]
            return data
    raise AssertionError(f"no {MODEL_ASSERTION} assertion")


def _check_recorded(home: Home, model: Path, o: Any, task_pipeline: str) -> dict[str, Any]:
    assert verify_path(o.path, default_policy(home)).verdict == "trusted"
    digest = weights_digest(model)
    body = _entry(home, o.sha256)
    facts = body["request"]["facts"]
    assert facts["weights"]["digest"] == digest.digest
    assert {f["path"] for f in facts["weights"]["files"]} >= {
        "model_index.json",
        "unet/config.json",
    }
    assert (
        facts["task_pipeline"] == task_pipeline and facts["pipeline"] == "StableDiffusionPipeline"
    )
    assert facts["steps"] == 2 and facts["dtype"] == "float32" and facts["device"] == "cpu"
    assert facts["scheduler"]["class"] == "DDIMScheduler" and "torch" in facts["versions"]
    assert body["output"]["facts"]["seed"] == 3
    assertion = _model_assertion(home, o.path)
    assert assertion["weights"]["digest"] == digest.digest
    assert assertion["pipeline"] == task_pipeline
    assert digest.digest in body["software_agent"] and task_pipeline in body["software_agent"]
    return body


def test_generate_is_trusted_and_proves_the_weights(
    home: Home, tiny_model: Path, workdir: Path
) -> None:
    o = _generate(home, tiny_model, workdir / "cat.png")
    body = _check_recorded(home, tiny_model, o, "StableDiffusionPipeline")
    assert body["digital_source_type"] == "trainedAlgorithmicMedia"
    pixels = np.asarray(Image.open(o.path).convert("RGB"))
    assert pixels.shape == (64, 64, 3) and pixels.std() > 0


def test_img2img_edit_records_strength(home: Home, tiny_model: Path, workdir: Path) -> None:
    parent = _generate(home, tiny_model, workdir / "cat.png")
    with Recorder(home, backend=DiffusersBackend()) as rec:
        [o] = rec.edit(
            [parent.path],
            "a blue cat",
            workdir / "blue.png",
            model=str(tiny_model),
            seed=3,
            options={**FAST, "strength": 0.5},
        )
    body = _check_recorded(home, tiny_model, o, "StableDiffusionImg2ImgPipeline")
    assert body["request"]["facts"]["strength"] == 0.5
    assert body["digital_source_type"] == "compositeWithTrainedAlgorithmicMedia"
    assert body["inputs"][0]["entry"] == parent.entry_id


@pytest.mark.parametrize("convention", ["openai", "white-on-black"])
def test_masked_inpaint(home: Home, tiny_model: Path, workdir: Path, convention: str) -> None:
    parent = _generate(home, tiny_model, workdir / "cat.png")
    mask_path = workdir / "mask.png"
    if convention == "openai":  # transparent = editable
        mask = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
        mask.paste((0, 0, 0, 0), (16, 16, 48, 48))
    else:
        mask = Image.new("L", (64, 64), 0)
        mask.paste(255, (16, 16, 48, 48))
    mask.save(mask_path)
    with Recorder(home, backend=DiffusersBackend()) as rec:
        [o] = rec.edit(
            [parent.path],
            "a dog",
            workdir / "dog.png",
            mask=mask_path,
            model=str(tiny_model),
            seed=3,
            options=dict(FAST),
        )
    body = _check_recorded(home, tiny_model, o, "StableDiffusionInpaintPipeline")
    assert [i["role"] for i in body["inputs"]] == ["parent", "mask"]


def test_reproduce_gives_identical_pixels(
    home: Home, tiny_model: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = _generate(home, tiny_model, workdir / "cat.png")
    mask_path = workdir / "mask.png"
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))
    mask.save(mask_path)
    with Recorder(home, backend=DiffusersBackend()) as rec:
        [edited] = rec.edit(
            [parent.path],
            "a dog",
            workdir / "dog.png",
            mask=mask_path,
            model=str(tiny_model),
            seed=3,
            options=dict(FAST),
        )
    result = reproduce(parent.path)
    assert result.identical and result.differing_pixels == 0 and result.psnr_db is None
    code, out, err = run(capsys, "reproduce", str(edited.path), "--input", str(mask_path), "--json")
    assert code == 0, err
    [report] = reports(out)
    assert report["identical"] is True and report["entry"] == edited.entry_id


def test_a_scheduler_option_does_not_stick_to_later_calls(
    home: Home, tiny_model: Path, workdir: Path
) -> None:
    """A call with scheduler=X used to leave X as the model's scheduler for the next call that
    named none: that call recorded and ran X, and reproduce (the model's own) differed."""
    with Recorder(home, backend=DiffusersBackend()) as rec:
        for name, options in (("euler", {"scheduler": "EulerDiscreteScheduler"}), ("own", {})):
            rec.generate(
                "a red cat",
                workdir / f"{name}.png",
                model=str(tiny_model),
                seed=3,
                size="64x64",
                options={**FAST, **options},
            )
    own = workdir / "own.png"
    with open_ledger(home, read_only=True) as led:
        [entry] = led.find_by_output(hashlib.sha256(own.read_bytes()).hexdigest())
    assert entry.body["request"]["facts"]["scheduler"]["class"] == "DDIMScheduler"
    assert reproduce(own).identical


def test_reproduce_reports_how_far_pixels_differ(
    home: Home, tiny_model: Path, workdir: Path
) -> None:
    from provenance.record.reproduce import _compare

    o = _generate(home, tiny_model, workdir / "cat.png")
    image = Image.open(o.path).convert("RGB")
    image.putpixel((5, 5), tuple(255 - c for c in image.getpixel((5, 5))))  # type: ignore[misc, union-attr]
    buf = io.BytesIO()
    image.save(buf, "PNG")
    result = _compare(o.path, o.entry_id, "sha256:x", o.path.read_bytes(), buf.getvalue())
    assert not result.identical and result.differing_pixels == 1 and result.psnr_db is not None


def test_changed_weights_are_caught_before_running(
    home: Home, tiny_model: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    o = _generate(home, tiny_model, workdir / "cat.png")
    weights = tiny_model / "unet" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    code, out, err = run(capsys, "reproduce", str(o.path))
    assert code == 1 and out == ""
    assert "unet/diffusion_pytorch_model.safetensors changed" in err
    assert "nothing was run" in err


def _ledger_size(home: Home) -> int:
    with open_ledger(home, read_only=True) as led:
        return led.size


def _refused(capsys: pytest.CaptureFixture[str], home: Home, workdir: Path, *argv: str) -> str:
    before = _ledger_size(home)
    files = sorted(p.name for p in workdir.iterdir())
    code, _out, err = run(capsys, *argv)
    assert code == 2, err
    assert sorted(p.name for p in workdir.iterdir()) == files
    assert _ledger_size(home) == before
    line: str = err.strip()
    assert len(line.splitlines()) == 1, line
    return line


def test_bad_models_are_clear_errors_and_write_nothing(
    home: Home, tiny_model: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(workdir / "x.png")
    gen = (
        "generate",
        "a cat",
        "-o",
        out,
        "--backend",
        "diffusers",
        "-O",
        "steps=2",
        "--size",
        "64x64",
    )
    err = _refused(capsys, home, workdir, *gen, "--model", str(workdir / "nowhere"))
    assert "nowhere: no such folder or file" in err
    (tiny_model / "model_index.json").write_text("{not json")
    err = _refused(capsys, home, workdir, *gen, "--model", str(tiny_model))
    assert "model_index.json: cannot be read as JSON" in err
    (tiny_model / "model_index.json").write_text(json.dumps({"_class_name": "DDPMPipeline"}))
    err = _refused(capsys, home, workdir, *gen, "--model", str(tiny_model))
    assert "pipeline DDPMPipeline: not supported for text2image" in err
    (tiny_model / "model_index.json").unlink()
    err = _refused(capsys, home, workdir, *gen, "--model", str(tiny_model))
    assert "not a diffusers model folder (no model_index.json)" in err


def test_corrupt_weights_and_missing_component(
    home: Home,
    tiny_model: Path,
    tiny_model_master: Path,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gen = (
        "generate",
        "a cat",
        "-o",
        str(workdir / "x.png"),
        "--backend",
        "diffusers",
        "--model",
        str(tiny_model),
        "-O",
        "steps=2",
        "--size",
        "64x64",
    )
    weights = tiny_model / "vae" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    err = _refused(capsys, home, workdir, *gen)
    assert f"model {tiny_model}: cannot load" in err
    (tiny_model / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    err = _refused(capsys, home, workdir, *gen)
    assert "component 'unet' has no weights file in unet/" in err
    shutil.copytree(tiny_model_master / "unet", tiny_model / "unet", dirs_exist_ok=True)
    shutil.rmtree(tiny_model / "vae")
    err = _refused(capsys, home, workdir, *gen)
    assert "component 'vae' is missing (no folder vae/)" in err


def test_wrong_size_mask_and_bad_option(
    home: Home, tiny_model: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = workdir / "p.png"
    Image.new("RGB", (64, 64), "red").save(parent)
    mask = workdir / "m.png"
    Image.new("L", (32, 32), 255).save(mask)
    edit = (
        "edit",
        str(parent),
        "-i",
        "a dog",
        "-o",
        str(workdir / "x.png"),
        "--backend",
        "diffusers",
        "--model",
        str(tiny_model),
    )
    err = _refused(capsys, home, workdir, *edit, "--mask", str(mask))
    assert "is 32x32 but the image is 64x64" in err
    err = _refused(capsys, home, workdir, *edit, "-O", "stpes=2")
    assert "option stpes: unknown for the diffusers backend" in err
    err = _refused(capsys, home, workdir, *edit, "--size", "32x32")
    assert "size 32x32: image-to-image keeps the parent's size" in err


def test_weights_digest_cache_skips_unchanged_files(tiny_model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache.json"
    first = weights_digest(tiny_model, cache)
    assert weights_digest(tiny_model) == first
    entries = json.loads(cache.read_text())
    assert len(entries) == len(first.files)
    # A poisoned cache entry with the right size and mtime is believed: that is the contract,
    # and why reproduce hashes without the cache.
    key = str((tiny_model / "model_index.json").resolve())
    entries[key]["sha256"] = "0" * 64
    cache.write_text(json.dumps(entries))
    assert weights_digest(tiny_model, cache).digest != first.digest
    assert weights_digest(tiny_model).digest == first.digest


def test_a_weight_changed_under_its_old_mtime_is_hashed_again(
    home: Home, tiny_model: Path, workdir: Path
) -> None:
    """Same size, mtime put back (``touch -r``, a copy that keeps times): the cache used to
    believe it, so the entry named weights that did not make the image. The change time and
    the inode cannot be put back."""
    first = _generate(home, tiny_model, workdir / "a.png")
    weights = tiny_model / "unet" / "diffusion_pytorch_model.safetensors"
    st = weights.stat()
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert weights.stat().st_size == st.st_size
    second = _generate(home, tiny_model, workdir / "b.png")
    recorded = _entry(home, second.sha256)["request"]["facts"]["weights"]["digest"]
    assert recorded == weights_digest(tiny_model).digest
    assert recorded != _entry(home, first.sha256)["request"]["facts"]["weights"]["digest"]


def test_single_checkpoint_needs_its_configs_on_disk(
    home: Home, tiny_model: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = tiny_model.parent / "one.safetensors"
    shutil.copy(tiny_model / "unet" / "diffusion_pytorch_model.safetensors", ckpt)
    gen = (
        "generate",
        "a cat",
        "-o",
        str(workdir / "x.png"),
        "--backend",
        "diffusers",
        "--model",
        str(ckpt),
        "--size",
        "64x64",
        "-O",
        "steps=2",
    )
    err = _refused(capsys, home, workdir, *gen)
    assert "a single checkpoint needs its model's configs on disk: option config=FOLDER" in err
    # A UNet alone is not a whole Stable Diffusion checkpoint: a clear error, still offline.
    err = _refused(capsys, home, workdir, *gen, "-O", f"config={tiny_model}")
    assert f"model {ckpt}: cannot load" in err
