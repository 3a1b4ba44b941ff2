"""A partner drop for the system.ingest.load tests, written by the tests into a temporary
directory (nothing is committed): CSV files named `{table}_{date}_{batch}.csv` for the tables
`room_rates` and `bookings`, some plain, some gzip'd, some members of a .tar.gz (one member
itself gzip'd), with the drift real drops have.

What is in it (the expected results in test_ingest_load.py are worked out from this by hand):

  README.txt                               unmatched by the pattern (counted, not loaded)
  _SUCCESS, .room_rates_...csv.crc         skipped by the listing ('_' and '.' names)
  room_rates_2026-12-01_001.csv            4 rows; row 4 an exact duplicate of row 2; a NULL price
  bookings_2026-12-01_001.csv.gz           3 rows; a NULL guest_name
  partner_2026-12-02.tar.gz                (only with archive=True)
    day2/                                  a directory entry
    day2/room_rates_2026-12-02_001.csv     header reordered, cased and padded, `currency` missing,
                                           new column `breakfast`; 2 rows and, on line 4, a row
                                           with 4 fields instead of 7
    day2/bookings_2026-12-02_001.csv.gz    `guest_name` renamed `guest`; 2 rows
  bookings_2026-12-02_002.csv              the day-1 header; 4 rows: a newer B2 (twice, an exact
                                           duplicate), a stale B1 (older updated_at than day 1's)
                                           and a newer B4 than batch 001's
"""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

PATTERN = "{table}_{date}_{batch}.csv"

ROOM_RATES_DAY1 = (
    "hotel_id,room_type,rate_date,price,currency,refundable,updated_at\n"
    "101,DLX,2026-12-24,250.5,KRW,true,2026-12-01T08:00:00\n"
    "101,STD,2026-12-24,120,KRW,false,2026-12-01T08:00:00\n"
    "102,DLX,2026-12-24,,KRW,TRUE,2026-12-01 09:30:00\n"
    "101,STD,2026-12-24,120,KRW,false,2026-12-01T08:00:00\n"
)

BOOKINGS_DAY1 = (
    "booking_id,hotel_id,guest_name,nights,amount,booked_at,updated_at\n"
    "B1,101,Kim,2,501.0,2026-11-30T10:00:00,2026-12-01T00:00:00\n"
    "B2,102,Lee,1,120.00,2026-11-30T11:00:00,2026-12-01T00:00:00\n"
    "B3,101,,3,360.5,2026-11-30T12:00:00,2026-12-01T00:00:00\n"
)

ROOM_RATES_DAY2 = (
    "updated_at,Room_Type,hotel_id, Price ,rate_date,refundable,breakfast\n"
    "2026-12-02T08:00:00,DLX,103,300,2026-12-25,false,true\n"
    "2026-12-02T08:00:00,STD,103,150.25,2026-12-25,true,false\n"
    "2026-12-02T08:00:00,STE,103,999\n"
)
ROOM_RATES_DAY2_BAD_LINE = "2026-12-02T08:00:00,STE,103,999"

BOOKINGS_DAY2_BATCH1 = (
    "booking_id,hotel_id,guest,nights,amount,booked_at,updated_at\n"
    "B4,103,Park,2,600,2026-12-01T09:00:00,2026-12-02T00:00:00\n"
    "B5,103,Choi,1,150.25,2026-12-01T10:00:00,2026-12-02T00:00:00\n"
)

BOOKINGS_DAY2_BATCH2 = (
    "booking_id,hotel_id,guest_name,nights,amount,booked_at,updated_at\n"
    "B2,102,Lee,2,240.0,2026-11-30T11:00:00,2026-12-02T06:00:00\n"
    "B2,102,Lee,2,240.0,2026-11-30T11:00:00,2026-12-02T06:00:00\n"
    "B1,101,Kim,5,999.0,2026-11-30T10:00:00,2026-11-30T23:00:00\n"
    "B4,103,Park,3,900,2026-12-01T09:00:00,2026-12-02T05:00:00\n"
)

ROOM_RATES_DAY1_FILE = "room_rates_2026-12-01_001.csv"
BOOKINGS_DAY1_FILE = "bookings_2026-12-01_001.csv.gz"
BOOKINGS_DAY2_BATCH2_FILE = "bookings_2026-12-02_002.csv"
ARCHIVE_FILE = "partner_2026-12-02.tar.gz"
ROOM_RATES_DAY2_MEMBER = "day2/room_rates_2026-12-02_001.csv"
BOOKINGS_DAY2_MEMBER = "day2/bookings_2026-12-02_001.csv.gz"


def write_file(path: Path, text: str) -> Path:
    """Writes `text` to `path`, gzip'd when the name ends in .gz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def write_tar_gz(path: Path, members: dict[str, bytes], directories: tuple[str, ...] = ()) -> Path:
    """A .tar.gz holding `members` (name -> bytes) and directory entries, in that order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for d in directories:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


@dataclass
class Drop:
    root: Path
    archive: Path | None

    def url(self, name: str) -> str:
        """The file URL of a file of the drop (what _source_file holds)."""
        return (self.root / name).as_uri()

    def archive_url(self) -> str:
        assert self.archive is not None
        return self.archive.as_uri()

    def member_url(self, member: str) -> str:
        """_source_file of an archive member: 'archive_url!/member_path'."""
        return f"{self.archive_url()}!/{member}"

    def files(self) -> list[Path]:
        """Every file written, hidden ones included (for uploading the drop elsewhere)."""
        return sorted(p for p in self.root.rglob("*") if p.is_file())


def write_drop(root: Path, archive: bool = True) -> Drop:
    """Writes the partner drop under `root` (see the module docstring); without `archive`, the
    day-2 .tar.gz is left out."""
    root.mkdir(parents=True, exist_ok=True)
    write_file(root / "README.txt", "Partner drop, December 2026. Contact: ops@example.com\n")
    write_file(root / "_SUCCESS", "")
    write_file(root / f".{ROOM_RATES_DAY1_FILE}.crc", "crc32 0badf00d\n")
    write_file(root / ROOM_RATES_DAY1_FILE, ROOM_RATES_DAY1)
    write_file(root / BOOKINGS_DAY1_FILE, BOOKINGS_DAY1)
    write_file(root / BOOKINGS_DAY2_BATCH2_FILE, BOOKINGS_DAY2_BATCH2)
    tar = None
    if archive:
        tar = write_tar_gz(
            root / ARCHIVE_FILE,
            {
                ROOM_RATES_DAY2_MEMBER: ROOM_RATES_DAY2.encode(),
                BOOKINGS_DAY2_MEMBER: gzip.compress(BOOKINGS_DAY2_BATCH1.encode(), mtime=0),
            },
            directories=("day2",),
        )
    return Drop(root=root, archive=tar)


def write_many_files(root: Path, tables: tuple[str, ...] = ("alpha", "beta", "gamma"),
                     files_per_table: int = 100, rows_per_file: int = 2) -> int:
    """Many small files, `{table}_2026-12-01_{batch}.csv` with columns id, val; every id of a
    table is unique across all its files. Returns the rows per table."""
    for t in tables:
        for i in range(files_per_table):
            rows = "".join(f"{i * rows_per_file + j},{t}-{i}-{j}\n" for j in range(rows_per_file))
            write_file(root / f"{t}_2026-12-01_{i:04d}.csv", "id,val\n" + rows)
    return files_per_table * rows_per_file
