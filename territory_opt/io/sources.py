"""One layer's file or database table -> a (Geo)DataFrame, or findings saying why it cannot be read.

Only the reading lives here: the format by suffix (CSV with its delimiter sniffed, (Geo)Parquet, anything GDAL
reads), the size limit, and GDAL's reasons in a user's words. What the columns must hold is `layers`' job.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from ..config import CSV_SUFFIXES, LayerSource, first_row_of
from ..errors import Finding, InputError
from .findings import FindingLog

GIS_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}
# GDAL otherwise closes an unclosed ring with a bare RuntimeWarning and GEOS then fails naming no feature; refused,
# the feature comes back empty and is reported with its row
pyogrio.set_gdal_config_options({"OGR_GEOMETRY_ACCEPT_UNCLOSED_RING": "NO"})
MAX_INPUT_BYTES = 4 * 2**30  # one layer; a national customer master as CSV is a few hundred MB


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read in blocks: the manifest records what each run read."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


SEPARATORS = (",", ";", "\t")
SEPARATOR = "separator"  # the attrs key under which a CSV's frame carries the separator it was read with
SEPARATOR_NAMES = {",": "','", ";": "';'", "\t": "a tab"}


def _likely_separator(line: str) -> str | None:
    counts = {sep: line.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else None


def _likely_separator_of(path: Path) -> str | None:
    """The separator of a file's first line, read whatever its encoding (the separators are ASCII)."""
    with path.open("rb") as handle:
        return _likely_separator(handle.readline().decode("latin-1"))


def _sniff_delimiter(path: Path, encoding: str = "utf-8-sig") -> tuple[str, str | None]:
    """The header's separator, and a problem when the first data row is separated by another one (a file saved
    from two tools: the header with commas, the rows with semicolons)."""
    with path.open("r", encoding=encoding, newline="") as handle:
        header = handle.readline()
        first = handle.readline()
    sep = _likely_separator(header) or ","
    row_sep = _likely_separator(first)
    if row_sep is not None and first.count(sep) == 0 and header.count(sep) > 0:
        return sep, (f"the header is separated by {SEPARATOR_NAMES[sep]} but the rows by "
                     f"{SEPARATOR_NAMES[row_sep]}; save the file with one separator")
    return sep, None


OTHER_ENCODINGS = ("cp1252", "cp1250")  # Windows' Western and Central European code pages: most non-UTF-8 exports
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def _cells(text: str, sep: str) -> list[str]:
    """One line's cells (quotes honoured when the line parses as CSV); at least one, maybe empty."""
    try:
        return next(csv.reader([text], delimiter=sep), None) or [""]
    except csv.Error:
        return text.split(sep)


def _undecodable(path: Path, encoding: str, sep: str, layer: str) -> Finding:
    """Where a CSV stops being `encoding` text: its row (line) and column, the value as it reads in the usual
    other encodings, and the option to give; not a byte offset inside a buffer."""
    option = f"under inputs.{layer}" if layer.isidentifier() else "for this file"
    with path.open("rb") as handle:
        head = handle.read(4096)
        if head.startswith(UTF16_MARKS):
            return Finding(f"not UTF-8 text: the file is UTF-16; add  encoding: utf-16  {option}, or save it as UTF-8",
                           source=str(path))
        if b"\x00" in head:
            return Finding(f"not UTF-8 text: the file holds binary data (a zero byte at offset {head.index(0)}); "
                           "is it a CSV?", source=str(path))
        handle.seek(0)
        header: list[str] = []
        row = 0
        for raw in handle:  # by \n; a line may hold several rows split by a bare \r (old Mac line ends)
            content = raw[:-1] if raw.endswith(b"\n") else raw
            for line in (content[:-1] if content.endswith(b"\r") else content).split(b"\r"):
                row += 1
                try:
                    text = line.decode(encoding if row == 1 else encoding.replace("utf-8-sig", "utf-8"))
                except UnicodeDecodeError as exc:
                    start = exc.start
                    break
                if row == 1:
                    header = _cells(text, sep)
            else:
                continue
            break
        else:  # every line decodes on its own: a character cut by the reader's buffer, or a quoted line break
            return Finding(f"not {encoding.replace('-sig', '').upper()} text; save the file as UTF-8",
                           source=str(path))
    column = len(_cells(line[:start].decode(encoding, "replace"), sep)) - 1
    field = header[column] if 0 <= column < len(header) else ""

    def value(codec: str) -> str:
        cells = _cells(line.decode(codec, "replace"), sep)
        return cells[column] if 0 <= column < len(cells) else line.decode(codec, "replace")

    readings = {codec: value(codec) for codec in OTHER_ENCODINGS}
    # the suggestion: the code page under which the value reads as letters (spożywczy, not spo¿ywczy)
    best = min(OTHER_ENCODINGS, key=lambda codec: sum(ord(ch) > 127 and not ch.isalpha() for ch in readings[codec]))
    shown = "; ".join(f"{codec} reads it as {text!r}" for codec, text in readings.items()) \
        if len(set(readings.values())) > 1 else f"{best} reads it as {readings[best]!r}"
    name = encoding.replace("-sig", "").upper()
    return Finding(f"not {name} text: byte 0x{line[start]:02X} in {value(encoding)!r} ({shown}); if the file was "
                   f"saved in another encoding, add  encoding: {best}  {option}, or save it as UTF-8",
                   source=str(path), row=row if row > 1 else None, field=field or ("header" if row == 1 else ""))


def _gdal_reason(exc: Exception, suffix: str) -> str:
    """GDAL's reason in a user's words: an unrecognised format says what is expected, not GDAL's driver hint."""
    text = str(exc).splitlines()[0]
    if "not recognized as being in a supported file format" not in text:
        return text
    if suffix in GIS_SUFFIXES:
        return f"the file is not valid {suffix} data (GDAL does not recognise its contents)"
    return (f"file type {suffix or '(no extension)'!r} is not recognised; use CSV, GeoJSON, GeoPackage, "
            "(Geo)Parquet or Shapefile")


def _read_database(source: LayerSource, log: FindingLog, label: str, id_column: str | None) -> pd.DataFrame | None:
    """A database layer, its problems logged like a file's."""
    from .postgis import read_layer  # SQLAlchemy and psycopg load only when a scenario uses a database

    try:
        return read_layer(source, source.columns.get(id_column, id_column) if id_column else None, label)
    except InputError as exc:
        for finding in exc.findings:
            log.add(finding)
    return None


def read_table(source: LayerSource, log: FindingLog, label: str,
               id_column: str | None = None) -> tuple[pd.DataFrame | None, int]:
    """Read a file or database layer into a (Geo)DataFrame; returns it and the row-number offset for messages."""
    if source.path is None:
        return _read_database(source, log, label, id_column), source.first_row
    path = source.path
    name = str(path)
    if not path.exists():
        log.add(Finding(f"{label} file not found", source=name))
        return None, 0
    if path.is_dir() and path.suffix.lower() != ".gdb":
        log.add(Finding(f"{label} path is a folder, not a file", source=name))
        return None, 0
    suffix = path.suffix.lower()
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") does not stick to the first column's name
    encoding = source.encoding or "utf-8"
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            log.add(Finding(f"{label} file is {size / 2**30:.1f} GiB, above the {MAX_INPUT_BYTES / 2**30:.0f} GiB "
                            "limit for one layer; filter it, or read it from a database table or query", source=name))
            return None, 0
        if suffix in CSV_SUFFIXES:
            sep: str
            if source.sep is not None:
                sep, mixed = source.sep, None
            else:
                sep, mixed = _sniff_delimiter(path, encoding)
            if mixed:
                log.add(Finding(mixed, source=name, row=2))
                return None, 0
            frame = pd.read_csv(
                path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding,
                skipinitialspace=True,
            )
            frame.attrs[SEPARATOR] = sep
            return frame, first_row_of(path)
        if suffix in PARQUET_SUFFIXES:
            try:
                return gpd.read_parquet(path), first_row_of(path)
            except ValueError:
                return pd.read_parquet(path), first_row_of(path)
        frame = pyogrio.read_dataframe(path, layer=source.layer, encoding=source.encoding)
        return frame, first_row_of(path)
    except UnicodeDecodeError as exc:
        if suffix in CSV_SUFFIXES:
            log.add(_undecodable(path, encoding, source.sep or _likely_separator_of(path) or ",", label))
        else:
            log.add(Finding(f"not UTF-8 text (byte {exc.start}); add an  encoding:  option (e.g. cp1252), or save "
                            "the file as UTF-8", source=name))
    except (pd.errors.ParserError, csv.Error) as exc:
        log.add(Finding(f"cannot parse as CSV: {str(exc).strip()}", source=name))
    except pd.errors.EmptyDataError:
        log.add(Finding(f"{label} file is empty", source=name))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        log.add(Finding(f"cannot read {label} layer: {_gdal_reason(exc, suffix)}", source=name))
    except PermissionError:
        log.add(Finding(f"cannot read {label} file: permission denied", source=name))
    except Exception as exc:  # any reader failure on a user's file is bad input, not a bug
        log.add(Finding(f"cannot read {label} file ({type(exc).__name__}: {exc})", source=name))
    return None, 0
