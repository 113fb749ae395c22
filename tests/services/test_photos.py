"""The photo pipeline: what is refused, what comes out upright, and that no metadata does."""
from __future__ import annotations

import hashlib
import io
import struct
import warnings

import pytest
from PIL import Image, ImageCms

from feedback.services.photos import (
    GpsPosition,
    PhotoRejected,
    Region,
    blur_regions,
    inspect_upload,
    process_photo,
)
from tests.samples import (
    ASCII,
    LONG,
    RATIONAL,
    SHORT,
    detail,
    raw_exif,
    raw_png,
    rationals,
)

MB = 1024 * 1024
LIMITS = {"max_bytes": 20 * MB, "max_pixels": 50_000_000}
RED = (255, 0, 0)
GREEN = (0, 160, 0)
# Cần Thơ, 10°02'30.5" N 105°46'12" E
GPS_IFD = {1: "N", 2: (10.0, 2.0, 30.5), 3: "E", 4: (105.0, 46.0, 12.0)}
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
    b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Nguyen Van A"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def phone_exif(orientation: int = 6, gps: dict | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"
    exif[0x0110] = "Phone model"
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update(GPS_IFD if gps is None else gps)
    return exif


def sideways_picture(width: int, height: int) -> Image.Image:
    """Green, with a red marker in the stored top-left corner."""
    picture = Image.new("RGB", (width, height), GREEN)
    picture.paste(RED, (0, 0, width // 5, height // 5))
    return picture


def encode(picture: Image.Image, format: str, **params) -> bytes:
    out = io.BytesIO()
    picture.save(out, format, **params)
    return out.getvalue()


def phone_jpeg(width: int = 2400, height: int = 1800, **exif_params) -> bytes:
    """What a phone held sideways writes: EXIF orientation 6, GPS, XMP, a colour
    profile and a comment."""
    return encode(
        sideways_picture(width, height),
        "JPEG",
        quality=90,
        exif=phone_exif(**exif_params),
        xmp=XMP,
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        comment=b"Shot by Nguyen Van A",
    )


def heic(picture: Image.Image, **params) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return encode(picture, "HEIF", quality=80, **params)


def opened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def assert_no_metadata(data: bytes) -> None:
    picture = opened(data)
    assert picture.format == "JPEG"
    assert picture.mode == "RGB"
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop"):
        assert key not in picture.info
    assert not picture.getexif()
    assert b"Exif" not in data
    assert b"xmpmeta" not in data
    assert b"ICC_PROFILE" not in data
    assert b"Nguyen Van A" not in data
    assert b"Phone model" not in data


def assert_refused(code: str, data: bytes, **limits) -> None:
    with pytest.raises(PhotoRejected) as refusal:
        inspect_upload(data, **{**LIMITS, **limits})
    assert refusal.value.code == code
    assert refusal.value.message


def near(colour, expected, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


# -- a phone photo -----------------------------------------------------------------------


def test_a_phone_jpeg_comes_out_upright_with_no_metadata():
    photo = process_photo(phone_jpeg(2400, 1800))

    display = opened(photo.display.data)
    assert (photo.display.width, photo.display.height) == display.size == (1200, 1600)
    # Orientation 6: the stored top-left corner is shown at the top right.
    assert near(display.getpixel((display.width - 20, 20)), RED)
    assert near(display.getpixel((20, 20)), GREEN)
    assert near(display.getpixel((display.width - 20, display.height - 20)), GREEN)
    assert_no_metadata(photo.display.data)


def test_the_thumbnail_is_upright_320_pixels_and_has_no_metadata():
    photo = process_photo(phone_jpeg(2400, 1800))

    thumbnail = opened(photo.thumbnail.data)
    assert (photo.thumbnail.width, photo.thumbnail.height) == thumbnail.size == (240, 320)
    assert near(thumbnail.getpixel((thumbnail.width - 5, 5)), RED)
    assert near(thumbnail.getpixel((5, 5)), GREEN)
    assert_no_metadata(photo.thumbnail.data)


def test_the_gps_position_is_read_before_it_is_stripped():
    info = inspect_upload(phone_jpeg(), **LIMITS)

    expected = GpsPosition(10 + 2 / 60 + 30.5 / 3600, 105 + 46 / 60 + 12 / 3600)
    assert info.gps == pytest.approx(expected)
    assert info.gps.lat == pytest.approx(10.041806, abs=1e-6)


def test_southern_and_western_positions_are_negative():
    gps = {1: "S", 2: (33.0, 52.0, 0.0), 3: "W", 4: (151.0, 12.0, 36.0)}

    info = inspect_upload(phone_jpeg(gps=gps), **LIMITS)

    assert info.gps == pytest.approx((-33.866667, -151.21), abs=1e-5)


def test_inspecting_tells_the_type_the_upright_size_and_the_hash_of_the_original():
    data = phone_jpeg(2400, 1800)

    info = inspect_upload(data, **LIMITS)

    assert (info.type, info.content_type) == ("jpeg", "image/jpeg")
    assert (info.width, info.height) == (1800, 2400)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.frames == 1


def test_output_names_are_the_hashes_of_their_bytes_and_repeat_for_the_same_photo():
    data = phone_jpeg()

    first, second = process_photo(data), process_photo(data)

    for rendition in (first.display, first.thumbnail):
        assert rendition.name == hashlib.sha256(rendition.data).hexdigest() + ".jpg"
        assert rendition.content_type == "image/jpeg"
    assert first.display.name != first.thumbnail.name
    assert (second.display.name, second.thumbnail.name) == (
        first.display.name,
        first.thumbnail.name,
    )


def test_a_small_photo_is_never_enlarged():
    data = encode(sideways_picture(200, 100), "JPEG", exif=phone_exif(orientation=1))

    photo = process_photo(data)

    assert (photo.display.width, photo.display.height) == (200, 100)
    assert (photo.thumbnail.width, photo.thumbnail.height) == (200, 100)
    assert_no_metadata(photo.display.data)


@pytest.mark.parametrize(
    "orientation, size, red_corner",
    [
        (1, (300, 200), (0, 0)),
        (3, (300, 200), (1, 1)),
        (6, (200, 300), (1, 0)),
        (8, (200, 300), (0, 1)),
        (2, (300, 200), (1, 0)),
    ],
)
def test_every_exif_orientation_is_turned_upright(orientation, size, red_corner):
    data = encode(sideways_picture(300, 200), "JPEG", exif=phone_exif(orientation=orientation))

    display = opened(process_photo(data).display.data)

    assert display.size == size
    x = display.width - 5 if red_corner[0] else 5
    y = display.height - 5 if red_corner[1] else 5
    assert near(display.getpixel((x, y)), RED)


def test_a_progressive_jpeg_is_accepted():
    data = encode(sideways_picture(2000, 1500), "JPEG", progressive=True, exif=phone_exif())

    assert inspect_upload(data, **LIMITS).type == "jpeg"
    assert opened(process_photo(data).display.data).size == (1200, 1600)


def test_a_motion_photo_with_a_video_after_the_jpeg_is_accepted():
    data = phone_jpeg(800, 600) + b"\x00\x00\x00\x18ftypmp42" + bytes(5000)

    assert inspect_upload(data, **LIMITS).type == "jpeg"
    assert process_photo(data).display.width == 600


# -- other formats -----------------------------------------------------------------------


def test_an_iphone_heic_is_accepted_and_stripped():
    exif = phone_exif(orientation=6).tobytes()
    data = heic(sideways_picture(400, 300), exif=exif, xmp=XMP)

    info = inspect_upload(data, **LIMITS)
    photo = process_photo(data)

    assert (info.type, info.content_type) == ("heif", "image/heif")
    assert info.gps == pytest.approx((10.041806, 105.77), abs=1e-5)
    assert (info.width, info.height) == (300, 400)
    display = opened(photo.display.data)
    assert display.size == (300, 400)
    assert near(display.getpixel((display.width - 10, 10)), RED)
    assert near(display.getpixel((10, 10)), GREEN)
    assert_no_metadata(photo.display.data)
    assert_no_metadata(photo.thumbnail.data)


def test_a_png_with_transparency_is_flattened_onto_white():
    picture = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    picture.paste((255, 0, 0, 255), (200, 0, 400, 200))
    data = encode(picture, "PNG")

    display = opened(process_photo(data).display.data)

    assert near(display.getpixel((50, 100)), (255, 255, 255), 8)
    assert near(display.getpixel((350, 100)), RED, 8)


def test_a_big_png_with_transparency_is_flattened_and_shrunk():
    picture = Image.new("RGBA", (4000, 1200), (0, 0, 0, 0))
    picture.paste((255, 0, 0, 255), (2000, 0, 4000, 1200))
    data = encode(picture, "PNG", compress_level=1)

    photo = process_photo(data)

    display = opened(photo.display.data)
    assert display.size == (1600, 480)
    assert near(display.getpixel((100, 240)), (255, 255, 255), 8)
    assert near(display.getpixel((1500, 240)), RED, 8)


def test_a_palette_png_with_a_transparent_colour_is_flattened_onto_white():
    picture = Image.new("P", (100, 100), 0)
    picture.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    picture.paste(1, (50, 0, 100, 100))
    data = encode(picture, "PNG", transparency=0)

    display = opened(process_photo(data).display.data)

    assert near(display.getpixel((10, 50)), (255, 255, 255), 8)
    assert near(display.getpixel((90, 50)), RED, 8)


def test_a_webp_is_accepted():
    data = encode(sideways_picture(300, 200), "WEBP", quality=90, exif=phone_exif())

    info = inspect_upload(data, **LIMITS)
    photo = process_photo(data)

    assert (info.type, info.gps is not None) == ("webp", True)
    display = opened(photo.display.data)
    assert display.size == (200, 300)
    assert near(display.getpixel((display.width - 5, 5)), RED)
    assert_no_metadata(photo.display.data)


def test_a_cmyk_jpeg_comes_out_as_rgb():
    picture = Image.new("CMYK", (120, 80), (255, 0, 0, 0))  # pure cyan ink
    data = encode(picture, "JPEG", quality=95)

    display = opened(process_photo(data).display.data)

    assert display.mode == "RGB"
    assert near(display.getpixel((60, 40)), (0, 255, 255), 8)


def test_a_16_bit_greyscale_png_is_scaled_down_not_clipped():
    rows = [struct.pack(">" + "H" * 64, *([x * 1024 for x in range(64)])) for _ in range(8)]
    data = raw_png(64, 8, 16, 0, rows)
    assert opened(data).mode.startswith("I")

    display = opened(process_photo(data).display.data)

    assert near(display.getpixel((32, 4)), (128, 128, 128), 6)
    assert near(display.getpixel((2, 4)), (8, 8, 8), 6)


def test_a_16_bit_rgb_png_is_accepted():
    row = struct.pack(">" + "H" * 3 * 32, *([65535, 0, 32768] * 32))
    data = raw_png(32, 4, 16, 2, [row] * 4)

    display = opened(process_photo(data).display.data)

    assert near(display.getpixel((16, 2)), (255, 0, 128), 8)


def test_an_animated_png_is_taken_by_its_first_frame():
    frames = [Image.new("RGB", (64, 64), colour) for colour in (RED, (0, 0, 255))]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:])

    info = inspect_upload(data, **LIMITS)
    display = opened(process_photo(data).display.data)

    assert info.frames == 2
    assert near(display.getpixel((32, 32)), RED, 8)


def test_an_animated_webp_is_taken_by_its_first_frame():
    frames = [Image.new("RGB", (64, 64), colour) for colour in (RED, (0, 0, 255))]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)

    assert inspect_upload(data, **LIMITS).frames == 2
    assert near(opened(process_photo(data).display.data).getpixel((32, 32)), RED, 8)


# -- refusals ----------------------------------------------------------------------------


def test_zero_bytes_are_refused_as_empty():
    assert_refused("empty", b"")
    with pytest.raises(PhotoRejected, match="empty"):
        process_photo(b"")


def test_a_file_over_the_byte_limit_is_refused_as_too_large():
    data = phone_jpeg(800, 600)

    assert_refused("too_large", data, max_bytes=len(data) - 1)
    assert inspect_upload(data, **{**LIMITS, "max_bytes": len(data)}).type == "jpeg"


def test_a_pdf_renamed_to_jpg_is_refused_as_not_an_image():
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer\n%%EOF\n"

    assert_refused("not_an_image", pdf)
    with pytest.raises(PhotoRejected, match="not_an_image"):
        process_photo(pdf)


@pytest.mark.parametrize(
    "data",
    [
        b"Hello, this is a text file named photo.jpg\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(100),
        b"\xff\xd8",
    ],
    ids=["text", "svg", "mp4 video", "two bytes"],
)
def test_things_that_are_not_photos_are_refused_as_not_an_image(data):
    assert_refused("not_an_image", data)


@pytest.mark.parametrize("format", ["GIF", "TIFF", "BMP"])
def test_other_image_types_are_refused_as_unsupported(format):
    assert_refused("unsupported_type", encode(Image.new("RGB", (20, 20), RED), format))


def test_avif_is_refused_as_unsupported():
    assert_refused("unsupported_type", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf")


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_a_jpeg_cut_short_is_refused_as_truncated(keep):
    data = phone_jpeg(800, 600)
    cut = data[: int(len(data) * keep)]

    assert_refused("truncated", cut)
    with pytest.raises(PhotoRejected, match="truncated"):
        process_photo(cut)


def test_a_jpeg_cut_inside_its_headers_is_refused_as_truncated():
    assert_refused("truncated", phone_jpeg(800, 600)[:200])


def test_a_jpeg_cut_just_after_ff_d9_bytes_in_its_headers_is_refused_as_truncated():
    comment = b"looks like an end \xff\xd9 but is not"
    data = encode(sideways_picture(800, 600), "JPEG", comment=comment)
    cut = data[: data.index(b"\xff\xd9 but") + 2]

    assert cut.endswith(b"\xff\xd9")
    assert_refused("truncated", cut)


def test_a_progressive_jpeg_cut_between_scans_is_refused_as_truncated():
    data = encode(sideways_picture(800, 600), "JPEG", progressive=True)

    assert_refused("truncated", data[: len(data) // 2])


@pytest.mark.parametrize(
    "make",
    [
        lambda: encode(sideways_picture(300, 200), "PNG"),
        lambda: encode(sideways_picture(300, 200), "WEBP"),
        lambda: heic(sideways_picture(300, 200)),
    ],
    ids=["png", "webp", "heic"],
)
def test_other_formats_cut_in_half_are_refused_as_truncated(make):
    data = make()

    assert_refused("truncated", data[: len(data) // 2])


def test_a_truncated_png_fails_in_the_worker_too():
    data = encode(sideways_picture(300, 200), "PNG")

    with pytest.raises(PhotoRejected, match="truncated"):
        process_photo(data[: len(data) // 2])


def test_a_tiny_png_that_would_decode_to_20000_by_20000_is_refused_before_decoding():
    bomb = raw_png(20000, 20000, 1, 0, [bytes(2500)] * 20000)
    assert len(bomb) < 100_000

    assert_refused("too_many_pixels", bomb)
    with pytest.raises(PhotoRejected, match="too_many_pixels"):
        process_photo(bomb)


def test_the_pixel_limit_is_the_callers():
    data = encode(sideways_picture(300, 200), "JPEG")

    assert_refused("too_many_pixels", data, max_pixels=300 * 200 - 1)
    assert inspect_upload(data, **{**LIMITS, "max_pixels": 300 * 200}).width == 300
    with pytest.raises(PhotoRejected, match="too_many_pixels"):
        process_photo(data, max_pixels=300 * 200 - 1)


def test_pillows_bomb_warning_is_a_refusal_even_under_a_higher_limit_and_changes_nothing_global():
    limit_before = Image.MAX_IMAGE_PIXELS
    bomb = raw_png(10000, 10000, 1, 0, [bytes(1250)] * 10000)  # 100 MP: Pillow only warns

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak out as a warning either
        assert_refused("too_many_pixels", bomb, max_pixels=500_000_000)

    assert Image.MAX_IMAGE_PIXELS == limit_before


def test_a_webp_bomb_is_refused_before_its_decoder_allocates_a_canvas():
    data = encode(Image.new("RGB", (64, 64), RED), "WEBP", exif=phone_exif())
    assert data[12:16] == b"VP8X"
    header = bytearray(data)
    header[24:27] = (16383 - 1).to_bytes(3, "little")
    header[27:30] = (16383 - 1).to_bytes(3, "little")

    assert_refused("too_many_pixels", bytes(header))


def test_a_webp_is_held_to_a_third_of_the_pixel_limit():
    data = encode(Image.new("RGB", (100, 100), RED), "WEBP")

    assert_refused("too_many_pixels", data, max_pixels=3 * 100 * 100 - 1)
    assert inspect_upload(data, **{**LIMITS, "max_pixels": 3 * 100 * 100}).type == "webp"


def test_a_damaged_jpeg_is_refused_as_corrupt():
    data = bytearray(phone_jpeg(400, 300))
    start_of_frame = data.index(b"\xff\xc0")
    data[start_of_frame + 5 : start_of_frame + 9] = b"\x00\x00\x00\x00"  # zero size

    assert_refused("corrupt", bytes(data))


# -- malformed GPS -----------------------------------------------------------------------

LONGITUDE = [(3, ASCII, 2, b"E\x00"), (4, RATIONAL, 3, rationals((105, 1), (46, 1), (12, 1)))]


@pytest.mark.parametrize(
    "gps",
    [
        {1: "N", 2: (10.0, 2.0, 30.5), 4: (105.0, 46.0, 12.0)},
        {1: "Q", 2: (10.0, 2.0, 30.5), 3: "E", 4: (105.0, 46.0, 12.0)},
        {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (105.0, 46.0, 12.0)},
        {1: "N", 2: (10.0, 2.0, 30.5), 3: "E", 4: (400.0, 0.0, 0.0)},
        {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)},
        {1: "N", 2: (10.0, 2.0, 30.5, 1.0, 2.0), 3: "E", 4: (105.0, 46.0, 12.0)},
        {},
    ],
    ids=[
        "no longitude reference",
        "unknown reference",
        "latitude beyond the pole",
        "longitude beyond 180",
        "null island",
        "five numbers",
        "empty",
    ],
)
def test_malformed_gps_gives_no_position_and_does_not_crash(gps):
    data = phone_jpeg(400, 300, gps=gps)

    assert inspect_upload(data, **LIMITS).gps is None
    assert_no_metadata(process_photo(data).display.data)


@pytest.mark.parametrize(
    "exif",
    [
        raw_exif([(1, ASCII, 2, b"N\x00"), (2, ASCII, 12, b"ten degrees\x00"), *LONGITUDE]),
        raw_exif(
            [
                (1, ASCII, 2, b"N\x00"),
                (2, RATIONAL, 3, rationals((10, 0), (2, 1), (30, 1))),
                *LONGITUDE,
            ]
        ),
        raw_exif(
            [
                (1, SHORT, 1, b"\x00\x07"),
                (2, LONG, 1, b"\x00\x00\x00\x0c"),
                (3, SHORT, 1, b"\xff\xff"),
                (4, RATIONAL, 0, b""),
            ]
        ),
        raw_exif(
            [(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 1_000_000, rationals((10, 1))), *LONGITUDE]
        ),
        raw_exif([(1, ASCII, 2, b"N\x00"), *LONGITUDE], gps_offset=0x7FFFFFF0),
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff",
        b"Exif\x00\x00not a tiff header at all",
    ],
    ids=[
        "text for degrees",
        "a fraction over zero",
        "numbers and letters swapped",
        "a million fractions announced",
        "a gps block outside the file",
        "an exif block cut short",
        "garbage",
    ],
)
@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow says so when EXIF is corrupt
def test_gps_that_is_not_even_well_formed_does_not_crash(exif):
    data = encode(sideways_picture(400, 300), "JPEG", exif=exif)

    info = inspect_upload(data, **LIMITS)
    photo = process_photo(data)

    assert info.gps is None
    assert photo.display.width == 400
    assert_no_metadata(photo.display.data)


def test_well_formed_gps_written_byte_by_byte_is_read():
    exif = raw_exif(
        [(1, ASCII, 2, b"N\x00"), (2, RATIONAL, 3, rationals((10, 1), (2, 1), (61, 2))), *LONGITUDE]
    )
    data = encode(sideways_picture(400, 300), "JPEG", exif=exif)

    assert inspect_upload(data, **LIMITS).gps == pytest.approx((10.041806, 105.77), abs=1e-5)


def test_a_png_with_a_damaged_chunk_is_refused_as_corrupt_not_truncated():
    data = bytearray(encode(sideways_picture(300, 200), "PNG"))
    data[data.index(b"IDAT") + 20] ^= 0xFF  # the checksum no longer matches

    assert_refused("corrupt", bytes(data))


# -- blurring a region ------------------------------------------------------------------

def _detailed_display() -> bytes:
    """A display copy full of fine detail (as a face or a number plate is)."""
    picture = Image.merge("RGB", [Image.effect_noise((800, 600), 90) for _ in range(3)])
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue()


def test_a_blurred_region_loses_its_detail_and_the_rest_keeps_it():
    display = _detailed_display()
    blurred = blur_regions(display, [Region(0.25, 0.25, 0.5, 0.5)])
    before, after = opened(display), opened(blurred.display.data)
    inside, outside = (220, 170, 580, 430), (0, 0, 180, 140)
    assert detail(blurred.display.data, inside) < detail(display, inside) / 5
    assert detail(blurred.display.data, outside) > detail(display, outside) * 0.9
    assert after.size == before.size == (blurred.display.width, blurred.display.height)
    assert (blurred.thumbnail.width, blurred.thumbnail.height) == (320, 240)
    assert_no_metadata(blurred.display.data)
    assert_no_metadata(blurred.thumbnail.data)
    assert blurred.display.name != process_photo(display).display.name


def test_a_region_past_the_edge_is_cut_to_the_picture():
    blurred = blur_regions(_detailed_display(), [Region(0.9, 0.9, 0.5, 0.5)])
    assert (blurred.display.width, blurred.display.height) == (800, 600)
