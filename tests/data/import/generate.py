#!/usr/bin/env python3
"""Writes the broken and awkward citizen CSV files the import must answer clearly.

    tests/data/import/generate.py DIR

The text files beside this script are kept in git; the binary ones (legacy encodings, UTF-16,
garbage, a 10 MB field) are written here so that the repository holds no binary blobs.
tests/integration/test_import.py calls it with a scratch directory."""
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "full_name,phone,commune_code,province_code,gender,birth_date,group,language\r\n"
ROWS = [
    "Nguyễn Văn An,0912345678,23200,52,nam,1980-05-01,farmer,vi",
    "Trần Thị Bình,0981234567,23203,52,nữ,01/02/1990,household_business,vi",
    "Rơ Mah Thuận,0361234567,23206,52,nam,1975-12-31,ethnic_minority,jra",
]


def write(d: Path):
    d.mkdir(parents=True, exist_ok=True)
    for f in HERE.glob("*.csv"):
        shutil.copy(f, d / f.name)
    text = HEADER + "\r\n".join(ROWS) + "\r\n"
    # Windows-1258 is what Excel writes for "CSV" on a Vietnamese Windows.
    (d / "windows1258.csv").write_bytes(text.encode("cp1258", errors="replace"))
    (d / "utf16le_bom.csv").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    (d / "utf16le_nobom.csv").write_bytes(text.encode("utf-16-le"))
    rnd = random.Random(1258)
    (d / "binary.csv").write_bytes(bytes(rnd.randrange(256) for _ in range(65536)))
    big = HEADER + ROWS[0] + "\r\n" + "Lê Văn Dài,0351234567,23200,52,nam,1980-01-01,farmer," + \
        "x" * (10 * 1024 * 1024) + "\r\n" + ROWS[1] + "\r\n"
    (d / "big_field.csv").write_text(big, encoding="utf-8", newline="")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
