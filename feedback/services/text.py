"""Vietnamese text: Unicode NFC for storage, accent-folded forms for search."""
import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(value: str) -> str:
    """Phones send NFD or NFC; store one form, so equal text compares equal."""
    return unicodedata.normalize("NFC", value)


def fold_accents(value: str) -> str:
    """'Phường Vị Thanh' → 'phuong vi thanh': lower case, no diacritics, single spaces."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip().lower()


def tidy(value: str) -> str:
    """NFC with runs of white space folded to one space (the official list has a few)."""
    return _SPACES.sub(" ", nfc(value)).strip()
