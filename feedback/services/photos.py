"""Citizens' photos: check an upload in the request, then make the public copies.

`inspect_upload` is the cheap check done while the citizen waits; `process_photo` is the
heavier work done by a worker: upright, stripped of every piece of metadata, resized to a
display size and a thumbnail, each named by the hash of its bytes. Neither needs Flask.

Decisions: JPEG, PNG, WebP and HEIC/HEIF are taken, judged from the bytes alone. Animated
PNG and WebP and multi-image HEIF are taken, and only the first frame (a HEIF's primary
image) is used. Colour profiles are dropped, not applied (CMYK is converted without one);
transparency goes onto white. WebP is held to a third of the pixel limit (see _open).
"""
from __future__ import annotations

import hashlib
import io
import math
import re
import warnings
from dataclasses import dataclass
from typing import NamedTuple

from PIL import Image

# The largest sensor that phones sell as "50 MP" is 8192 x 6144; anything bigger is
# refused before a single pixel is decoded (DESIGN.md, Photos: "up to 50 megapixels").
DEFAULT_MAX_PIXELS = 8192 * 6144
MB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MB
DISPLAY_SIZE = 1600
THUMBNAIL_SIZE = 320
JPEG_QUALITY = 85
# What is left after draft() or reduce() is a step of less than 2x. On a 12 MP photo,
# against a full-resolution LANCZOS reference, the reduced-scale decode itself loses
# ~8 dB PSNR; after it BILINEAR loses 1.8 dB to LANCZOS (BICUBIC 0.4 dB), invisible at
# 100%, in half LANCZOS's time: ~20 of the pipeline's ~100 ms (bench/photos.py).
DISPLAY_RESAMPLE = Image.Resampling.BILINEAR
# From the display image, as thumbnail() does; cheaper filters lose 5 to 12 dB here.
THUMBNAIL_RESAMPLE = Image.Resampling.LANCZOS

CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "heif": "image/heif",
}
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heif": "HEIF"}

_ORIENTATION_TAG = 0x0112
_GPS_IFD = 0x8825
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Pixels converted at a time when a big non-RGB picture is flattened, so that converting
# a 50 MP PNG never holds a second full-size copy.
_BAND_PIXELS = 4_000_000
_WHITE = (255, 255, 255)
_WEBP_COPIES = 3


class PhotoRejected(Exception):
    """The upload is not a photo we can take; `code` is for machines, `message` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class GpsPosition(NamedTuple):
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class UploadInfo:
    type: str  # "jpeg", "png", "webp" or "heif", judged from the bytes
    content_type: str
    width: int  # as the picture is shown, after its EXIF orientation
    height: int
    sha256: str  # of the original bytes
    gps: GpsPosition | None
    frames: int  # more than 1 for animations and multi-image HEIF; only the first is used


@dataclass(frozen=True, slots=True)
class Rendition:
    data: bytes
    width: int
    height: int
    name: str  # "<sha256 of data>.jpg"
    content_type: str = "image/jpeg"


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    display: Rendition
    thumbnail: Rendition


def inspect_upload(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> UploadInfo:
    """Judge an upload from its bytes alone, without decoding its pixels.

    Raises PhotoRejected unless `data` is a complete JPEG, PNG, WebP or HEIC/HEIF picture
    of at most `max_bytes` bytes and `max_pixels` pixels.
    """
    if not data:
        raise PhotoRejected("empty", "The file is empty.")
    if len(data) > max_bytes:
        raise PhotoRejected("too_large", f"The file is larger than {max_bytes / MB:.3g} MB.")
    kind = _sniff(data)
    if not _is_complete(kind, data):
        raise PhotoRejected("truncated", "The picture is incomplete; please send it again.")
    with _open(data, kind, max_pixels) as im:
        if kind == "png":
            # Pillow's PNG verify() walks every chunk to IEND and checks its CRC.
            _verify_png(data)
        exif = _exif_of(im, allow_decode=False)
        orientation = _orientation(exif)
        width, height = im.size
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        return UploadInfo(
            type=kind,
            content_type=CONTENT_TYPES[kind],
            width=width,
            height=height,
            sha256=hashlib.sha256(data).hexdigest(),
            gps=_gps_position(exif),
            frames=getattr(im, "n_frames", 1),
        )


def process_photo(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    display_size: int = DISPLAY_SIZE,
    thumbnail_size: int = THUMBNAIL_SIZE,
    quality: int = JPEG_QUALITY,
    progressive: bool = False,
) -> ProcessedPhoto:
    """Make the public copies of a photo: upright, metadata-free, display and thumbnail.

    Only the first frame (the primary image of a HEIF) is used. Neither copy is ever
    larger than the original. Raises PhotoRejected as `inspect_upload` does.
    """
    if not data:
        raise PhotoRejected("empty", "The file is empty.")
    kind = _sniff(data)
    if kind == "heif":
        pixels, orientation = _decode_heif(data, max_pixels, display_size)
    else:
        pixels, orientation = _decode(data, kind, max_pixels, display_size)
    transpose = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
    if transpose is not None:
        pixels = pixels.transpose(transpose)
    # Re-encode from bare pixels: a resized or transposed image still carries the
    # original's info (EXIF with GPS, ICC, XMP, comments), which encoders read.
    return _renditions(_bare(pixels), thumbnail_size, quality, progressive)


class Region(NamedTuple):
    """A part of a picture, in fractions of its width and height from the top left."""

    left: float
    top: float
    width: float
    height: float


# A blurred region keeps this many cells across its shorter side: a face or a number
# plate becomes a few patches of colour, from which no detail can be recovered.
BLUR_CELLS = 6


def blur_regions(
    display_jpeg: bytes,
    regions: list[Region],
    *,
    thumbnail_size: int = THUMBNAIL_SIZE,
    quality: int = JPEG_QUALITY,
    progressive: bool = False,
) -> ProcessedPhoto:
    """New public copies of a photo with `regions` blurred beyond recognition, made from
    its display copy (already upright and stripped; the original may be gone after its
    retention period). Each region is averaged down to BLUR_CELLS cells across its
    shorter side and smoothed back up."""
    try:
        with Image.open(io.BytesIO(display_jpeg), formats=["JPEG"]) as im:
            picture = im.convert("RGB")  # a copy of our own, the file closed after
    except Exception as exc:
        raise _decode_error(exc) from exc
    width, height = picture.size
    for region in regions:
        box = (
            math.floor(region.left * width),
            math.floor(region.top * height),
            math.ceil((region.left + region.width) * width),
            math.ceil((region.top + region.height) * height),
        )
        box = (max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3]))
        if box[2] - box[0] < 1 or box[3] - box[1] < 1:
            continue
        patch = picture.crop(box)
        shorter = min(patch.size)
        cells = (
            max(1, round(patch.size[0] * BLUR_CELLS / shorter)),
            max(1, round(patch.size[1] * BLUR_CELLS / shorter)),
        )
        coarse = patch.resize(cells, Image.Resampling.BOX)
        picture.paste(coarse.resize(patch.size, Image.Resampling.BILINEAR), box[:2])
    return _renditions(_bare(picture), thumbnail_size, quality, progressive)


def _renditions(
    display: Image.Image, thumbnail_size: int, quality: int, progressive: bool
) -> ProcessedPhoto:
    """The display copy as given and a thumbnail of it, encoded."""
    small = _fit(display.size, thumbnail_size)
    thumbnail = (
        display
        if small == display.size
        else display.resize(small, THUMBNAIL_RESAMPLE, reducing_gap=2.0)
    )
    return ProcessedPhoto(
        display=_encode(display, quality, progressive),
        thumbnail=_encode(thumbnail, quality, progressive),
    )


# -- recognising the bytes ---------------------------------------------------------------

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_OTHER_IMAGE_MAGIC = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"8BPS", "Photoshop"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\x00\x00\x01\x00", "ICO"),
)


def _sniff(data: bytes) -> str:
    """The accepted type that the magic number names, or PhotoRejected."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        brands = _ftyp_brands(data)
        if brands & {b"avif", b"avis"}:
            raise PhotoRejected("unsupported_type", _unsupported("AVIF"))
        if brands & _HEIF_BRANDS:
            return "heif"
        raise PhotoRejected("not_an_image", "The file is a video or other media, not a photo.")
    for magic, name in _OTHER_IMAGE_MAGIC:
        if data.startswith(magic):
            raise PhotoRejected("unsupported_type", _unsupported(name))
    raise PhotoRejected("not_an_image", "The file is not a picture.")


def _unsupported(name: str) -> str:
    return f"{name} pictures are not accepted; please send a JPEG, PNG, WebP or HEIC photo."


def _ftyp_brands(data: bytes) -> set[bytes]:
    size = int.from_bytes(data[:4], "big")
    end = min(len(data), size if size >= 16 else 16)
    brands = {data[8:12]}
    brands.update(data[i : i + 4] for i in range(16, end - 3, 4))
    return brands


# -- completeness, without decoding ------------------------------------------------------
# Pillow only notices a cut-off file when its decoder runs out of data. Decoding in the
# request would cost a second full entropy decode (as much as the whole worker job for a
# JPEG), so these walks check the same thing, that the data runs to the format's end:
# the JPEG's EOI after its last scan, every ISOBMFF box of a HEIF, the RIFF size of a WebP.
# The worker's real decode still refuses anything they let through.

_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_NO_LENGTH = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn stand alone


def _is_complete(kind: str, data: bytes) -> bool:
    if kind == "jpeg":
        return _jpeg_is_complete(data)
    if kind == "webp":
        return len(data) >= 8 + int.from_bytes(data[4:8], "little")
    if kind == "heif":
        return _isobmff_is_complete(data)
    return True  # PNG: Pillow's verify() checks it, cheaply


def _jpeg_is_complete(data: bytes) -> bool:
    """True when the header segments are whole and the entropy-coded data runs on to an
    End Of Image marker. Data after EOI (motion photos, gain maps) is allowed, as by
    every decoder; so are stray bytes between segments, which libjpeg skips too."""
    end = len(data)
    pos = 2
    while pos < end:
        pos = data.find(b"\xff", pos)
        if pos < 0:
            return False
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            return False
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            return True
        if marker in _JPEG_NO_LENGTH:
            continue
        if pos + 2 > end:
            return False
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            return False
        pos += length
        if pos > end:
            return False
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            if data.endswith(b"\xff\xd9"):
                # The headers are whole and the file ends on EOI, which cannot appear
                # inside entropy-coded data: only a whole file ends so.
                return True
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                return False
            pos = found.start()
    return False


def _isobmff_is_complete(data: bytes) -> bool:
    end = len(data)
    pos = 0
    while pos < end:
        if pos + 8 > end:
            return False
        size = int.from_bytes(data[pos : pos + 4], "big")
        header = 8
        if size == 1:
            if pos + 16 > end:
                return False
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:  # the last box runs to the end of the file
            return True
        if size < header:
            return False
        pos += size
    return pos == end


def _verify_png(data: bytes) -> None:
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
            im.verify()
    except Exception as exc:
        raise _decode_error(exc) from exc


# -- opening and decoding ----------------------------------------------------------------

_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


def _open(data: bytes, kind: str, max_pixels: int) -> Image.Image:
    """Open `data` as `kind` only, refusing it when it has more than `max_pixels`.

    Opening reads only the headers, except for WebP, whose decoder allocates its canvas
    at once: its size is read from the header and checked first, against a third of
    `max_pixels` (see below).
    """
    if kind == "heif":
        _register_heif()
    if kind == "webp":
        # Pillow's WebP decoder holds its canvas, a copy of it and the image: three
        # full-size copies where other formats hold one, so a third of the pixels.
        max_pixels //= _WEBP_COPIES
        _check_pixels(_webp_size(data), max_pixels)
    try:
        # Pillow's own guard warns from 89.5 MP and raises from 179 MP; the limit we mean
        # is max_pixels, checked below, and the warning is made an error so that Pillow
        # never lets a picture through with only a warning. catch_warnings() is
        # process-wide before Python 3.14: the explicit check does not depend on it.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRejected("too_many_pixels", _too_many_pixels(max_pixels)) from exc
    except Exception as exc:
        if isinstance(exc, MemoryError):
            raise
        raise PhotoRejected("corrupt", "The picture is damaged and cannot be read.") from exc
    try:
        _check_pixels(im.size, max_pixels)
    except PhotoRejected:
        im.close()
        raise
    return im


def _check_pixels(size: tuple[int, int] | None, max_pixels: int) -> None:
    if size is not None and size[0] * size[1] > max_pixels:
        raise PhotoRejected("too_many_pixels", _too_many_pixels(max_pixels))


def _too_many_pixels(max_pixels: int) -> str:
    return f"The picture has more than {max_pixels / 1_000_000:.3g} megapixels."


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return (
            1 + int.from_bytes(data[24:27], "little"),
            1 + int.from_bytes(data[27:30], "little"),
        )
    if chunk == b"VP8 " and len(data) >= 30:
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _decode(
    data: bytes, kind: str, max_pixels: int, longest: int
) -> tuple[Image.Image, int]:
    """RGB pixels at the display size (in the stored orientation) and the EXIF orientation."""
    with _open(data, kind, max_pixels) as im:
        target = _fit(im.size, longest)
        if kind == "jpeg" and target != im.size:
            # Decode at 1/2, 1/4 or 1/8 scale, never below the target; the target must
            # keep the picture's aspect or draft() gains nothing (MEASURED.md).
            im.draft("RGB", target)
        _load(im)
        orientation = _orientation(_exif_of(im, allow_decode=True))
        if im.mode == "RGB" and "transparency" not in im.info:
            factor = _reduce_factor(im.size, target)
            pixels = im.reduce(factor) if factor > 1 else im
        else:
            width, height = im.size
            pixels = _shrink_in_bands(
                im.size, target, lambda top, bottom: im.crop((0, top, width, bottom))
            )
        return _resize(pixels, target), orientation


def _decode_heif(data: bytes, max_pixels: int, longest: int) -> tuple[Image.Image, int]:
    """Like _decode, straight from libheif's buffer: through Pillow's plugin a 48 MP
    iPhone photo would be held twice (libheif's copy and Pillow's), ~340 MB.

    libheif has already applied the HEIF rotation and mirroring, which HEIF readers
    must follow instead of the EXIF orientation, so the orientation is always 1.
    """
    import pillow_heif

    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        image = heif[heif.primary_index]
    except Exception as exc:
        raise _decode_error(exc) from exc
    _check_pixels(image.size, max_pixels)
    try:
        buffer = memoryview(image.data)
        stride = image.stride
    except Exception as exc:
        raise _decode_error(exc) from exc
    width, height = image.size  # after rotation, known once decoded
    target = _fit((width, height), longest)
    mode = image.mode

    def band(top: int, bottom: int) -> Image.Image:
        rows = buffer[top * stride : bottom * stride]
        return Image.frombytes(mode, (width, bottom - top), rows, "raw", mode, stride)

    pixels = _shrink_in_bands((width, height), target, band)
    del buffer, image, heif
    return _resize(pixels, target), 1


def _load(im: Image.Image) -> None:
    try:
        im.load()
    except Exception as exc:
        raise _decode_error(exc) from exc


def _decode_error(exc: Exception) -> Exception:
    """The refusal for a failed decode; Pillow and libheif tell a cut-off file only in
    their messages."""
    if isinstance(exc, (MemoryError, PhotoRejected)):
        return exc
    text = str(exc).lower()
    if isinstance(exc, EOFError) or any(
        word in text for word in ("truncated", "end of file", "incomplete")
    ):
        return PhotoRejected("truncated", "The picture is incomplete; please send it again.")
    return PhotoRejected("corrupt", "The picture is damaged and cannot be read.")


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """`size` scaled so its longest side is `longest`, never enlarged."""
    width, height = size
    if max(width, height) <= longest:
        return size
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _reduce_factor(size: tuple[int, int], target: tuple[int, int]) -> int:
    # As draft() does for JPEG: the largest whole factor that stays at least the target.
    return max(1, min(size[0] // target[0], size[1] // target[1]))


def _shrink_in_bands(size, target, band) -> Image.Image:
    """RGB pixels box-reduced by a whole factor, converted a band of rows at a time so
    that a second full-size copy of a big picture is never held. `band(top, bottom)`
    returns those rows as an image of any mode."""
    width, height = size
    factor = _reduce_factor(size, target)
    if width * height <= _BAND_PIXELS:
        whole = _to_rgb(band(0, height))
        return whole.reduce(factor) if factor > 1 else whole
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = max(factor, _BAND_PIXELS // width // factor * factor)
    for top in range(0, height, rows):
        piece = _to_rgb(band(top, min(height, top + rows)))
        out.paste(piece.reduce(factor) if factor > 1 else piece, (0, top // factor))
    return out


def _resize(pixels: Image.Image, target: tuple[int, int]) -> Image.Image:
    if pixels.size == target:
        return pixels.copy()  # the source may be closed with its file
    return pixels.resize(target, DISPLAY_RESAMPLE)


def _to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB; transparency goes onto white, 16-bit is scaled down, not clipped."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        # convert("L") clips 16-bit values at 255 instead of scaling them.
        im = (im if mode == "I" else im.convert("I")).point(lambda v: v * (1 / 257))
        im = im.convert("L")
        mode = "L"
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("L", "RGB") and "transparency" in im.info:
        im = im.convert("RGBA")
    elif mode in ("LA", "La", "PA", "RGBa"):
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        flat = Image.new("RGB", im.size, _WHITE)
        flat.paste(im, mask=im.getchannel("A"))
        return flat
    if im.mode == "CMYK":
        # No colour management: an embedded profile is dropped, not applied.
        return im.convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def _bare(im: Image.Image) -> Image.Image:
    """`im` with nothing but its pixels. `im` is a copy of our own (resized, reduced or
    transposed: Pillow's `_new` copies `info` and nothing else of the original), so its
    info is emptied in place: pasting the pixels into a new image cost a 6 MB copy,
    ~5% of the pipeline on a 12 MP photo (bench/photos.py)."""
    if im.mode != "RGB":
        im = im.convert("RGB")
    im.info = {}
    return im


def _encode(im: Image.Image, quality: int, progressive: bool) -> Rendition:
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=quality, progressive=progressive)
    data = buffer.getvalue()
    width, height = im.size
    return Rendition(
        data=data, width=width, height=height, name=f"{hashlib.sha256(data).hexdigest()}.jpg"
    )


# -- EXIF --------------------------------------------------------------------------------


def _exif_of(im: Image.Image, *, allow_decode: bool) -> Image.Exif | None:
    # A PNG keeps EXIF after its pixels sometimes; Pillow would decode them all to get it.
    if im.format == "PNG" and "exif" not in im.info and not allow_decode:
        return None
    try:
        return im.getexif()
    except Exception as exc:
        if isinstance(exc, MemoryError):
            raise
        return None  # malformed EXIF is no reason to refuse a photo


def _orientation(exif: Image.Exif | None) -> int:
    if exif is None:
        return 1
    try:
        value = int(exif.get(_ORIENTATION_TAG, 1))
    except (TypeError, ValueError):
        return 1
    return value if value in _TRANSPOSE_FOR_ORIENTATION else 1


def _gps_position(exif: Image.Exif | None) -> GpsPosition | None:
    """Latitude and longitude in degrees, or None if absent, malformed or (0, 0)."""
    if exif is None:
        return None
    try:
        gps = exif.get_ifd(_GPS_IFD)
        lat = _degrees(gps.get(2), gps.get(1), positive="N", negative="S")
        lon = _degrees(gps.get(4), gps.get(3), positive="E", negative="W")
    except Exception as exc:
        if isinstance(exc, MemoryError):
            raise
        return None
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    if lat == 0 and lon == 0:  # what receivers without a fix write
        return None
    return GpsPosition(lat, lon)


def _degrees(value: object, ref: object, *, positive: str, negative: str) -> float | None:
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if not isinstance(ref, str):
        return None
    ref = ref.strip("\x00 ").upper()
    if ref not in (positive, negative):
        return None
    if not isinstance(value, (tuple, list)) or not 1 <= len(value) <= 3:
        return None
    parts = [float(part) for part in value]
    if not all(math.isfinite(part) and part >= 0 for part in parts):
        return None
    degrees = sum(part / 60**i for i, part in enumerate(parts))
    return -degrees if ref == negative else degrees
