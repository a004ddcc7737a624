"""How every derived table is written to disk: one place for the parquet settings.

Zstandard at level 1: on the national linked bookings (755,630 rows, 27 columns) it writes in 0.47 s against
0.73 s at polars' default level, to a file of the same size (17 MB), and reads back as fast. Column statistics
are left out unless asked for (nothing here filters parquet by them); bytes are reproducible either way.
"""

from __future__ import annotations

from pathlib import Path

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1


def write_parquet(df, path: str | Path, *, statistics: bool = False) -> None:
    """Write ``df`` (a polars DataFrame) to ``path`` with the project's parquet settings."""
    df.write_parquet(path, compression=COMPRESSION, compression_level=COMPRESSION_LEVEL, statistics=statistics)
