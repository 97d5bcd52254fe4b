#!/usr/bin/env python3
"""Writes the broken and awkward citizen CSV files the import must answer clearly.

    tests/data/import/generate.py DIR

The text files beside this script are kept in git; the binary ones (legacy encodings, UTF-16,
garbage, a 10 MB field) are written here so that the repository holds no binary blobs.
tests/integration/test_import.py calls it with a scratch directory."""
import random
import shutil
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "full_name,phone,commune_code,province_code,gender,birth_date,group,language\r\n"
ROWS = [
    "Nguyễn Văn An,0912345678,23200,52,nam,1980-05-01,farmer,vi",
    "Trần Thị Bình,0981234567,23203,52,nữ,01/02/1990,household_business,vi",
    "Rơ Mah Thuận,0361234567,23206,52,nam,1975-12-31,ethnic_minority,jra",
]


# TCVN3 (TCVN 5712:1993, the "ABC" fonts): one byte per Vietnamese letter, for the letters of
# the rows below and a few more.
TCVN3 = dict(zip(
    "àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵăâêôơưđĂÂÊÔƠƯĐ",
    bytes.fromhex("b5b6b7b8b9bbbcbdbec6c7c8c9cacbcccecfd0d1d2d3d4d5d6d7d8dcddde"
                  "dfe1e2e3e4e5e6e7e8e9eaebecedeeeff1f2f3f4f5f6f7f8f9fafbfcfdfe"
                  "a8a9aaabacadaea1a2a3a4a5a6a7")))
TONES = "\u0300\u0301\u0303\u0309\u0323"


def tcvn3(text: str) -> bytes:
    return b"".join(bytes([TCVN3[c]]) if c in TCVN3 else c.encode("ascii") for c in text)


def cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: a base letter, then its tone mark."""
    out = b""
    for c in text:
        try:
            out += c.encode("cp1258")
        except UnicodeEncodeError:
            d = unicodedata.normalize("NFD", c)
            base = unicodedata.normalize("NFC", "".join(m for m in d if m not in TONES))
            out += (base + "".join(m for m in d if m in TONES)).encode("cp1258")
    return out


FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hương", "Khánh", "Lộc", "Minh", "Ngọc"]


def utf8_rows(n: int):
    """N distinct valid rows, UTF-8 encoded, each with accents."""
    for i in range(n):
        name = f"{FAMILY[i % 8]} Văn {GIVEN[i // 8 % 10]} {i}"
        yield f"{name},0912{i:06d},23200,52,nam,1980-05-01,farmer,vi".encode()


def mixed(n: int, bad: dict) -> bytes:
    """A UTF-8 file of N rows where row LINE (a file line, the header is 1) is replaced by
    bad[LINE]."""
    lines = [HEADER.rstrip("\r\n").encode()] + list(utf8_rows(n))
    for line, raw in bad.items():
        lines[line - 1] = raw
    return b"\r\n".join(lines) + b"\r\n"


def write(d: Path):
    d.mkdir(parents=True, exist_ok=True)
    for f in HERE.glob("*.csv"):
        shutil.copy(f, d / f.name)
    text = HEADER + "\r\n".join(ROWS) + "\r\n"
    # Windows-1258 is what Excel writes for "CSV" on a Vietnamese Windows.
    (d / "windows1258.csv").write_bytes(text.encode("cp1258", errors="replace"))
    (d / "utf16le_bom.csv").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    (d / "utf16le_nobom.csv").write_bytes(text.encode("utf-16-le"))
    (d / "tcvn3.csv").write_bytes(tcvn3(text))
    # UTF-8 with a few names pasted from legacy systems: Latin-1, Windows-1258, and a group
    # typed in Windows-1258; every other row imports.
    (d / "mixed_utf8.csv").write_bytes(mixed(40, {
        10: "Lê Thu Hà".encode("latin-1") + b",0913000010,23200,52,nam,1990-01-01,farmer,vi",
        25: cp1258("Phạm Thị Lý") + b",0913000025,23203,52,nam,1991-02-02,farmer,vi",
        33: "Ngô Văn Tư,0913000033,23206,52,nam,1992-03-03,".encode() + cp1258("nông dân") +
            b",vi",
    }))
    # The same with bad bytes on too many lines to be a few pasted names: refused whole.
    (d / "mixed_too_many.csv").write_bytes(mixed(40, {
        line: cp1258(f"Phạm Thị Lý {line}") + f",0913{line:06d},23203,52,nam,1991-02-02,farmer,vi".encode()
        for line in range(20, 28)}))
    rnd = random.Random(1258)
    (d / "binary.csv").write_bytes(bytes(rnd.randrange(256) for _ in range(65536)))
    big = HEADER + ROWS[0] + "\r\n" + "Lê Văn Dài,0351234567,23200,52,nam,1980-01-01,farmer," + \
        "x" * (10 * 1024 * 1024) + "\r\n" + ROWS[1] + "\r\n"
    (d / "big_field.csv").write_text(big, encoding="utf-8", newline="")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
