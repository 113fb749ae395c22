"""Benchmark of the photo pipeline (feedback/services/photos.py); not a test.

A 12 MP phone-like JPEG goes through inspect_upload + process_photo, side by side in the
same run with the bare-Pillow floor (draft, resize to 1600, JPEG q85, 320 thumbnail) and
with a plain full decode + thumbnail(); then one 50 MP photo goes through the pipeline in
a child process whose peak RSS is read from its own rusage (os.wait4). Progress goes
to stdout and the last line is one JSON object with the figures.

    .venv/bin/python bench/photos.py [--runs 15]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, features  # noqa: E402

TARGETS = {"ratio_to_floor_max": 1.3, "speedup_vs_full_min": 2.0, "peak_rss_mb_50mp_max": 300}
DISPLAY = 1600
THUMBNAIL = 320
QUALITY = 85


def phone_jpeg(width: int, height: int, quality: int) -> bytes:
    """A JPEG that compresses like a photo (gradients and grain), with a phone's EXIF:
    orientation 6 (held sideways) and a GPS position in Cần Thơ."""
    grain = Image.effect_noise((width, height), 12)
    blotches = Image.effect_noise((width // 2, height // 2), 40).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    across = Image.linear_gradient("L").rotate(90).resize((width, height))
    around = Image.radial_gradient("L").resize((width, height))
    base = Image.merge("RGB", (across, around, Image.blend(across, around, 0.5)))
    noise = Image.merge("RGB", (blotches, grain, Image.blend(blotches, grain, 0.5)))
    picture = Image.blend(base, noise, 0.35)
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"
    exif[0x0110] = "Phone model"
    exif[0x0112] = 6
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (10.0, 2.0, 30.5), 3: "E", 4: (105.0, 46.0, 12.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    scale = longest / max(size)
    return round(size[0] * scale), round(size[1] * scale)


def encode(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def run_pipeline(data: bytes) -> tuple[int, int]:
    from feedback.services.photos import inspect_upload, process_photo

    inspect_upload(data, max_bytes=20 * 1024 * 1024, max_pixels=8192 * 6144)
    photo = process_photo(data)
    return photo.display.width, photo.display.height


def run_floor(data: bytes) -> tuple[int, int]:
    # The same filters as the pipeline, so that the ratio compares work, not filters.
    from feedback.services.photos import DISPLAY_RESAMPLE, THUMBNAIL_RESAMPLE

    im = Image.open(io.BytesIO(data))
    target = fit(im.size, DISPLAY)
    im.draft("RGB", target)
    display = im.resize(target, DISPLAY_RESAMPLE)
    encode(display)
    encode(display.resize(fit(target, THUMBNAIL), THUMBNAIL_RESAMPLE, reducing_gap=2.0))
    return display.size


def run_full_decode_thumbnail(data: bytes) -> tuple[int, int]:
    im = Image.open(io.BytesIO(data))
    im.load()
    im.thumbnail((DISPLAY, DISPLAY))
    encode(im)
    small = im.copy()
    small.thumbnail((THUMBNAIL, THUMBNAIL))
    encode(small)
    return im.size


def peak_rss_mb_of_child(path: str) -> float:
    """Peak RSS of a fresh interpreter that imports the app's photo service and runs one
    photo through inspect + process, read from that child's own rusage (os.wait4).

    On Linux a child inherits its parent's high-water mark across exec, so this process
    must stay small until then: the 50 MP photo is made by another child.
    """
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", path], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    for line in child.stdout:
        print(f"  child: {line.rstrip()}", flush=True)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"the 50 MP child failed with exit code {child.returncode}")
    return round(usage.ru_maxrss / 1024, 1)


def run_child(path: str) -> None:
    from feedback.services import photos

    data = Path(path).read_bytes()
    print(f"after imports and reading {len(data) / 1e6:.1f} MB: {_vm_hwm_mb()} MB peak")
    info = photos.inspect_upload(data, max_bytes=64 * 1024 * 1024)
    photo = photos.process_photo(data)
    print(
        f"{info.width}x{info.height} {info.type} -> display "
        f"{photo.display.width}x{photo.display.height}, thumbnail "
        f"{photo.thumbnail.width}x{photo.thumbnail.height}; {_vm_hwm_mb()} MB peak (VmHWM)"
    )


def _vm_hwm_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"Pillow {Image.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--make-50mp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return
    if args.make_50mp:
        Path(args.make_50mp).write_bytes(phone_jpeg(8160, 6120, quality=92))
        return

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "50mp.jpg")
        print("making a 50 MP phone photo (8160x6120) in a child process ...", flush=True)
        subprocess.run([sys.executable, __file__, "--make-50mp", path], check=True)
        print(f"  {os.path.getsize(path) / 1e6:.1f} MB", flush=True)
        print("running it through the pipeline in a child process ...", flush=True)
        peak_rss_mb = peak_rss_mb_of_child(path)
    print(f"  peak RSS {peak_rss_mb} MB", flush=True)

    print("making a 12 MP phone photo (4000x3000) ...", flush=True)
    data = phone_jpeg(4000, 3000, quality=95)
    print(f"  {len(data) / 1e6:.2f} MB", flush=True)

    contenders = {
        "pipeline": run_pipeline,
        "floor": run_floor,
        "full_decode_thumbnail": run_full_decode_thumbnail,
    }
    for name, run in contenders.items():  # warm up: imports, plugin registration
        print(f"  {name}: {'x'.join(map(str, run(data)))} display", flush=True)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_no in range(args.runs):
        # Rotate the order so that no contender always follows the same one.
        for name in names[round_no % 3 :] + names[: round_no % 3]:
            started = time.perf_counter()
            contenders[name](data)
            samples[name].append(time.perf_counter() - started)
        print(
            f"round {round_no + 1}/{args.runs}: "
            + ", ".join(f"{name} {samples[name][-1] * 1000:.0f} ms" for name in names),
            flush=True,
        )

    pipeline_ms = median_ms(samples["pipeline"])
    floor_ms = median_ms(samples["floor"])
    full_ms = median_ms(samples["full_decode_thumbnail"])
    ratio = round(pipeline_ms / floor_ms, 3)
    speedup = round(full_ms / pipeline_ms, 3)
    print(
        json.dumps(
            {
                "pipeline_ms": pipeline_ms,
                "floor_ms": floor_ms,
                "full_decode_thumbnail_ms": full_ms,
                "ratio_to_floor": ratio,
                "speedup_vs_full": speedup,
                "peak_rss_mb_50mp": peak_rss_mb,
                "photo_bytes_12mp": len(data),
                "runs": args.runs,
                "targets": TARGETS,
                "met": {
                    "ratio_to_floor": ratio <= TARGETS["ratio_to_floor_max"],
                    "speedup_vs_full": speedup >= TARGETS["speedup_vs_full_min"],
                    "peak_rss_mb_50mp": peak_rss_mb <= TARGETS["peak_rss_mb_50mp_max"],
                },
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
