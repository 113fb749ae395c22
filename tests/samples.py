"""Files a phone sends, and files it should not: made with Pillow for the intake tests."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageCms, ImageStat

RED = (255, 0, 0)
GREEN = (0, 160, 0)
# Bến Ninh Kiều, Cần Thơ: 10°02'00" N 105°47'24" E
GPS_IFD = {1: "N", 2: (10.0, 2.0, 0.0), 3: "E", 4: (105.0, 47.0, 24.0)}
GPS_DEGREES = (10 + 2 / 60, 105 + 47 / 60 + 24 / 3600)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
    b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Tran Thi B"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def phone_exif(orientation: int = 6, gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"
    exif[0x0110] = "Phone model"
    exif[0x0112] = orientation
    if gps:
        exif.get_ifd(0x8825).update(GPS_IFD)
    return exif


def sideways_picture(width: int, height: int) -> Image.Image:
    """Green with a red block in the stored top-left corner: held sideways (EXIF
    orientation 6), the red block belongs at the top right once upright."""
    picture = Image.new("RGB", (width, height), GREEN)
    picture.paste(RED, (0, 0, width // 5, height // 5))
    return picture


def phone_jpeg(width: int = 2000, height: int = 1500, *, orientation: int = 6,
               gps: bool = True, seed: int = 0) -> bytes:
    """A JPEG as a phone writes it: EXIF orientation and GPS, XMP, a colour profile,
    a comment. `seed` makes otherwise equal photos differ."""
    picture = sideways_picture(width, height)
    picture.putpixel((width - 1, height - 1), (seed % 256, seed // 256 % 256, 7))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=phone_exif(orientation, gps), xmp=XMP,
                 icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
                 comment=b"Shot by Tran Thi B")
    return out.getvalue()


def iphone_heic(width: int = 400, height: int = 300) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    sideways_picture(width, height).save(out, "HEIF", quality=80,
                                         exif=phone_exif(6).tobytes(), xmp=XMP)
    return out.getvalue()


def truncated_jpeg() -> bytes:
    data = phone_jpeg(800, 600)
    return data[: len(data) * 2 // 3]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows) -> bytes:
    """A PNG written by hand, for what Pillow cannot save (16-bit RGB, huge and tiny)."""
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(b"\x00" + row) for row in rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


# EXIF field types, for raw_exif's entries.
ASCII, SHORT, LONG, RATIONAL = 2, 3, 4, 5


def raw_exif(gps_entries, gps_offset=None) -> bytes:
    """EXIF written byte by byte, for what Pillow refuses to write: a GPS IFD whose
    entries are (tag, type, count, value bytes)."""
    gps_at = 8 + 2 + 12 + 4
    data_at = gps_at + 2 + 12 * len(gps_entries) + 4
    entries, extra = b"", b""
    for tag, kind, count, value in gps_entries:
        if len(value) <= 4:
            entries += struct.pack(">HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            entries += struct.pack(">HHII", tag, kind, count, data_at + len(extra))
            extra += value
    ifd0 = struct.pack(">HHHII", 1, 0x8825, LONG, 1, gps_at if gps_offset is None else gps_offset)
    gps = struct.pack(">H", len(gps_entries)) + entries + b"\x00" * 4
    return b"Exif\x00\x00MM\x00*" + struct.pack(">I", 8) + ifd0 + b"\x00" * 4 + gps + extra


def rationals(*pairs) -> bytes:
    return b"".join(struct.pack(">II", numerator, denominator) for numerator, denominator in pairs)


def png_bomb(side: int = 20000) -> bytes:
    """A PNG of a few kilobytes that would decode to side x side pixels."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + bytes(side // 8)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


def opened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def assert_no_metadata(data: bytes) -> None:
    """Nothing but pixels: no EXIF (so no GPS, no orientation), XMP, profile or comment."""
    picture = opened(data)
    assert picture.format == "JPEG"
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop"):
        assert key not in picture.info, key
    assert not picture.getexif()
    for marker in (b"Exif", b"xmpmeta", b"ICC_PROFILE", b"Tran Thi B", b"Phone model"):
        assert marker not in data, marker


def detail(data: bytes, box) -> float:
    """How much detail a picture has in `box`: its channels' standard deviations, added."""
    return sum(ImageStat.Stat(opened(data).crop(box)).stddev)


def near(colour, expected, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))
