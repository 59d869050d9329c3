"""Good and bad inputs, built by code (security.md §9): nothing third-party is copied in.

Each builder returns bytes. ``BAD_INPUTS`` maps a name to (file name, builder,
expected outcome, expected code).
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

from PIL import Image, ImageDraw


def jpeg(
    width: int = 1200,
    height: int = 800,
    *,
    quality: int = 90,
    exif: bytes | None = None,
    comment: bytes | None = None,
    color: str = "white",
    text: str = "JUSTIF",
) -> bytes:
    im = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(im)
    draw.rectangle((width // 10, height // 10, width // 2, height // 2), outline="black", width=8)
    draw.text((width // 8, height // 8), text, fill="black")
    buf = io.BytesIO()
    kwargs = {}
    if exif is not None:
        kwargs["exif"] = exif
    if comment is not None:
        kwargs["comment"] = comment
    im.save(buf, "JPEG", quality=quality, **kwargs)
    return buf.getvalue()


def noisy_jpeg(width: int, height: int, *, quality: int = 95, seed: int = 0) -> bytes:
    """A photo-like JPEG that does not compress well (random noise)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def photo_48mp(*, noise: int, quality: int, seed: int) -> bytes:
    """An 8000 × 6000 JPEG (a 48 MP phone photo): a ramp with ±``noise`` of grain."""
    import numpy as np

    rng = np.random.default_rng(seed)
    height, width = 6000, 8000
    ramp = (np.arange(width, dtype=np.int16) * 180 // width)[None, :, None]
    pixels = np.clip(ramp + rng.integers(-noise, noise, size=(height, width, 3)), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def exif_bytes(
    *,
    orientation: int | None = None,
    gps: bool = False,
    software: str | None = None,
    description: str | None = None,
) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if software:
        exif[0x0131] = software
    if description:
        exif[0x010E] = description
    if gps:
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return exif.tobytes()


def pdf(
    pages: int = 1, *, text: str | None = "Attestation", width: float = 595, height: float = 842
) -> bytes:
    """A small PDF; with ``text``, each page has a real text layer."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for i in range(pages):
        page = writer.add_blank_page(width=width, height=height)
        if text:
            content = DecodedStreamObject()
            content.set_data(f"BT /F1 24 Tf 72 720 Td ({text} {i + 1}) Tj ET".encode())
            page[NameObject("/Contents")] = writer._add_object(content)
            page[NameObject("/Resources")] = DictionaryObject(
                {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
            )
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def pdf_with_broken_second_page() -> bytes:
    """Two pages; the second page object is replaced by ``null`` (it opens, the first page
    renders, the second cannot load). Found by bench/fuzz.py."""
    import re

    data = pdf(2)
    starts = [m.start() for m in re.finditer(rb"\d+ 0 obj", data)]
    for start in reversed(starts):  # the last page object: the second page
        end = data.index(b"endobj", start)
        body = data[start:end]
        if b"/Type /Page\n" in body and b"/Parent" in body:
            candidate = data[: data.index(b"obj", start) + 3] + b" null " + data[end:]
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(candidate)
            try:
                doc[0]
                try:
                    doc[1]
                except pdfium.PdfiumError:
                    return candidate
            finally:
                doc.close()
    raise AssertionError("no page object to break")


def pdf_with_javascript() -> bytes:
    from pypdf import PdfReader, PdfWriter
    from pypdf.actions import JavaScript

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf())))
    writer.add_open_action(JavaScript("app.alert('hello');"))
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def pdf_with_escaped_javascript() -> bytes:
    """/OpenAction JavaScript written as /J#61vaScript, uncompressed."""
    body = pdf().replace(
        b"/Type /Catalog",
        b"/Type /Catalog /OpenAction << /S /J#61vaScript /JS (app.alert(1)) >>",
        1,
    )
    return body


def pdf_with_attachment() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf())))
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not really a program")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def encrypted_pdf(user: str = "secret", owner: str = "owner", algorithm: str = "AES-128") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf())))
    writer.encrypt(
        user_password=user, owner_password=owner, algorithm=algorithm, permissions_flag=0
    )
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def restricted_pdf() -> bytes:
    """Opens without a password, owner restrictions only: must pass."""
    return encrypted_pdf(user="", owner="owner-secret")


def jpeg_declaring(width: int, height: int) -> bytes:
    """A tiny JPEG whose frame header is patched to declare width × height."""
    data = bytearray(jpeg(16, 16))
    pos = 2
    while pos < len(data):
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            struct.pack_into(">HH", data, pos + 5, height, width)
            return bytes(data)
        pos += 2 + length
    raise AssertionError("no SOF")


@cache
def flate_bomb_pdf(inflated: int = 2 * 1024**3) -> bytes:
    """A few-KB PDF whose page content, compressed twice (/FlateDecode twice),
    inflates to ``inflated`` bytes (2 GiB by default). The inner zlib stream is put
    together from one fully-flushed deflate block of 16 MiB of zeros, repeated (the
    Adler-32 of n zero bytes is (n mod 65521) << 16 | 1), so it builds in
    milliseconds."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, NameObject, NumberObject, StreamObject

    chunk_size = 16 * 1024 * 1024
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(b"\0" * chunk_size) + packer.flush(zlib.Z_FULL_FLUSH)
    count = inflated // chunk_size
    total = count * chunk_size
    inner = (
        b"\x78\xda"
        + block * count
        + b"\x03\x00"  # final, empty fixed-Huffman block
        + struct.pack(">I", ((total % 65521) << 16) | 1)
    )
    outer = zlib.compress(inner, 9)

    writer = PdfWriter()
    page = writer.add_blank_page(width=200, height=200)
    stream = StreamObject()
    stream._data = outer
    stream[NameObject("/Filter")] = ArrayObject(
        [NameObject("/FlateDecode"), NameObject("/FlateDecode")]
    )
    stream[NameObject("/Length")] = NumberObject(len(outer))
    page[NameObject("/Contents")] = writer._add_object(stream)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, "PNG")
    return buf.getvalue()


def gif() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (64, 64)).save(buf, "GIF")
    return buf.getvalue()


def zip_bytes() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cni.pdf", pdf())
    return buf.getvalue()


HTML = (
    b"<!DOCTYPE html><html><head><title>x</title></head>"
    b"<body><script>alert(1)</script></body></html>"
)
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\x3e\x00" + b"\0" * 200
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 100

# name -> (declared file name, builder, expected outcome, expected code)
BAD_INPUTS = {
    "empty": ("vide.pdf", lambda: b"", "rejected", "file.empty"),
    "too_large": (
        "gros.jpg",
        lambda: b"\xff\xd8\xff" + b"\0" * (5_000_001 - 3),
        "rejected",
        "file.too_large",
    ),
    "png_named_jpg": ("photo.jpg", png, "rejected", "file.unsupported_type"),
    "gif_named_jpg": ("photo.jpg", gif, "rejected", "file.unsupported_type"),
    "heic_named_jpg": ("IMG_0001.jpg", lambda: HEIC, "rejected", "file.unsupported_type"),
    "html_named_pdf": ("cni.pdf", lambda: HTML, "rejected", "file.unsupported_type"),
    "zip_named_pdf": ("cni.pdf", zip_bytes, "rejected", "file.unsupported_type"),
    "elf_named_jpg": ("photo.jpg", lambda: ELF, "rejected", "file.unsupported_type"),
    "pdf_header_html": ("cni.pdf", lambda: b"%PDF-1.7\n" + HTML, "rejected", "pdf.damaged"),
    "junk_before_pdf": ("cni.pdf", lambda: b"\x00junk" * 100 + pdf(), "rejected", "pdf.damaged"),
    "jpeg_plus_pdf": ("photo.jpg", lambda: jpeg() + pdf(), "rejected", "file.polyglot"),
    "jpeg_plus_zip": ("photo.jpg", lambda: jpeg() + zip_bytes(), "rejected", "file.polyglot"),
    "pdf_plus_zip": ("cni.pdf", lambda: pdf() + zip_bytes(), "rejected", "file.polyglot"),
    "truncated_jpeg": ("photo.jpg", lambda: jpeg(quality=95)[:-4000], "rejected", "jpeg.truncated"),
    "broken_second_page": ("releve.pdf", pdf_with_broken_second_page, "rejected", "pdf.damaged"),
    "truncated_pdf": ("cni.pdf", lambda: pdf()[: len(pdf()) // 3], "rejected", "pdf.damaged"),
    "encrypted_pdf": ("cvec.pdf", encrypted_pdf, "rejected", "pdf.encrypted"),
    "encrypted_rc4": (
        "cvec.pdf",
        lambda: encrypted_pdf(algorithm="RC4-40"),
        "rejected",
        "pdf.encrypted",
    ),
    "encrypted_aes256": (
        "cvec.pdf",
        lambda: encrypted_pdf(algorithm="AES-256"),
        "rejected",
        "pdf.encrypted",
    ),
    "user_password_empty_owner": (
        "cvec.pdf",
        lambda: encrypted_pdf(user="secret", owner=""),
        "rejected",
        "pdf.encrypted",
    ),
    "javascript_pdf": ("cvec.pdf", pdf_with_javascript, "rejected", "pdf.active_content"),
    "escaped_javascript_pdf": (
        "cvec.pdf",
        pdf_with_escaped_javascript,
        "rejected",
        "pdf.active_content",
    ),
    "attachment_pdf": ("cvec.pdf", pdf_with_attachment, "rejected", "pdf.active_content"),
    "pages_300": ("releve.pdf", lambda: pdf(300, text=None), "rejected", "pdf.too_many_pages"),
    "pixel_bomb": (
        "photo.jpg",
        lambda: jpeg_declaring(40000, 40000),
        "rejected",
        "image.too_large",
    ),
    "flate_bomb": ("cni.pdf", flate_bomb_pdf, "rejected", "pdf.bomb"),
    "docx_extension": ("cv.docx", pdf, "rejected", "file.extension"),
    "php_double_extension": ("photo.jpg.php", jpeg, "rejected", "file.extension"),
}
