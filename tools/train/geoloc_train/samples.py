"""Geotagged photo sets: the inputs geoloc-index reads, plus the proving ground's split files.

  csv:FILE   a CSV with a header: path (or file, image), lat (or latitude), lon (or lng,
             longitude); optional place (else group), heading (degrees clockwise from
             north) and localizable (1/0, true/false, yes/no: rows marked 0 are distractors that
             carry no location and are skipped). Relative paths start at the CSV's directory.
             geoloc-synth's world.csv and the proving ground's train/database/val/calib/test.csv
             are such files.
  vpr:DIR    every image under DIR named in the VPR-datasets convention
             @utm_east@utm_north@zone@band@lat@lon@pano@tile@heading@...@.jpg
  exif:DIR   every JPEG under DIR with EXIF GPS tags (GPSImgDirection, when present, is the
             heading)

A bare path is taken as csv: when it is a file. Bad coordinates fail with the line number; files
that are not geotagged (other names in a vpr: folder, photos without GPS) are skipped and counted.

  s = read_samples("csv:/data/world/train.csv")
  print(len(s.samples), s.skipped)  # {"not localizable": 12}
"""

import csv
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from PIL import Image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
_PATH_COLUMNS = ("path", "file", "image")
_LAT_COLUMNS = ("lat", "latitude")
_LON_COLUMNS = ("lon", "lng", "longitude")
_PLACE_COLUMNS = ("place", "group")
_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")
# EXIF tags (GPS IFD 0x8825).
_GPS_IFD = 0x8825
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_DIRECTION = 1, 2, 3, 4, 17


class DataError(ValueError):
    """An input set that cannot be read, with a message naming the file (and line)."""


@dataclass(frozen=True)
class Sample:
    path: str  # absolute
    lat: float
    lon: float
    place: Optional[str] = None  # informative only; labels come from coordinates
    heading: Optional[float] = None  # degrees clockwise from north, in [0, 360)


@dataclass
class SampleSet:
    source: str  # "csv:/abs/path", "vpr:/abs/dir" or "exif:/abs/dir"
    samples: List[Sample]
    skipped: Dict[str, int] = field(default_factory=dict)

    def has_headings(self) -> bool:
        return any(s.heading is not None for s in self.samples)

    def describe(self) -> Dict[str, object]:
        return {"source": self.source, "images": len(self.samples), "skipped": dict(self.skipped)}


def _check_coordinates(lat: float, lon: float, where: str) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise DataError(f"{where}: coordinates ({lat}, {lon}) out of range "
                        "(lat in [-90, 90], lon in [-180, 180])")


def _heading(value: float) -> Optional[float]:
    return value % 360.0 if math.isfinite(value) else None


def _column(header: List[str], names, path: str, required: bool) -> Optional[int]:
    lower = [h.strip().lower() for h in header]
    for name in names:
        if name in lower:
            return lower.index(name)
    if required:
        raise DataError(f"{path}: no {' / '.join(names)} column in the header {header}")
    return None


def read_csv(path: str, image_root: Optional[str] = None) -> SampleSet:
    path = os.path.abspath(path)
    root = os.path.abspath(image_root) if image_root else os.path.dirname(path)
    try:
        f = open(path, newline="", encoding="utf-8")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    samples: List[Sample] = []
    skipped: Dict[str, int] = {}
    with f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: empty file (a header row is required)")
        col_path = _column(header, _PATH_COLUMNS, path, True)
        col_lat = _column(header, _LAT_COLUMNS, path, True)
        col_lon = _column(header, _LON_COLUMNS, path, True)
        col_place = _column(header, _PLACE_COLUMNS, path, False)
        col_heading = _column(header, ("heading",), path, False)
        col_localizable = _column(header, ("localizable",), path, False)
        for line, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            where = f"{path}:{line}"
            if len(row) < len(header):
                raise DataError(f"{where}: {len(row)} fields, the header has {len(header)}")
            if col_localizable is not None:
                flag = row[col_localizable].strip().lower()
                if flag in _FALSE:
                    skipped["not localizable"] = skipped.get("not localizable", 0) + 1
                    continue
                if flag not in _TRUE and flag != "":
                    raise DataError(f"{where}: localizable must be 1/0, true/false or yes/no, "
                                    f"got '{row[col_localizable]}'")
            try:
                lat, lon = float(row[col_lat]), float(row[col_lon])
            except ValueError:
                raise DataError(f"{where}: lat/lon are not numbers: "
                                f"'{row[col_lat]}', '{row[col_lon]}'") from None
            _check_coordinates(lat, lon, where)
            heading = None
            if col_heading is not None and row[col_heading].strip():
                try:
                    heading = _heading(float(row[col_heading]))
                except ValueError:
                    raise DataError(f"{where}: heading is not a number: "
                                    f"'{row[col_heading]}'") from None
            image = row[col_path].strip()
            if not image:
                raise DataError(f"{where}: empty path")
            full = image if os.path.isabs(image) else os.path.join(root, image)
            if not os.path.isfile(full):
                raise DataError(f"{where}: no such image {full}")
            place = row[col_place].strip() if col_place is not None else None
            samples.append(Sample(full, lat, lon, place or None, heading))
    return SampleSet(f"csv:{path}", samples, skipped)


def _images_under(directory: str) -> List[str]:
    if not os.path.isdir(directory):
        raise DataError(f"{directory}: not a directory")
    found = []
    for base, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(os.path.join(base, name))
    return sorted(found)


def parse_vpr_name(name: str):
    """(lat, lon, heading or None) from @utm_east@utm_north@zone@band@lat@lon@...@, or None."""
    fields = os.path.basename(name).split("@")
    if len(fields) < 7:
        return None
    try:
        lat, lon = float(fields[5]), float(fields[6])
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        return None
    heading = None
    if len(fields) > 9:
        try:
            heading = _heading(float(fields[9]))
        except ValueError:
            heading = None
    return lat, lon, heading


def read_vpr_dir(directory: str) -> SampleSet:
    directory = os.path.abspath(directory)
    samples, skipped = [], {}
    for path in _images_under(directory):
        parsed = parse_vpr_name(path)
        if parsed is None:
            skipped["not a VPR name"] = skipped.get("not a VPR name", 0) + 1
            continue
        lat, lon, heading = parsed
        samples.append(Sample(path, lat, lon, None, heading))
    return SampleSet(f"vpr:{directory}", samples, skipped)


def _rational(value) -> float:
    if isinstance(value, tuple) and len(value) == 2:
        return value[0] / value[1] if value[1] else float("nan")
    return float(value)


def _dms(value) -> float:
    degrees, minutes, seconds = (_rational(v) for v in value)
    return degrees + minutes / 60.0 + seconds / 3600.0


def read_exif_gps(path: str):
    """(lat, lon, heading or None) from the photo's EXIF GPS tags, None without GPS. Raises
    OSError / ValueError for an unreadable file or EXIF block."""
    with Image.open(path) as img:
        gps = img.getexif().get_ifd(_GPS_IFD)
    if _GPS_LAT not in gps or _GPS_LON not in gps:
        return None
    lat, lon = _dms(gps[_GPS_LAT]), _dms(gps[_GPS_LON])
    if str(gps.get(_GPS_LAT_REF, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(_GPS_LON_REF, "E")).upper().startswith("W"):
        lon = -lon
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise ValueError(f"GPS position ({lat}, {lon}) out of range")
    heading = None
    if _GPS_DIRECTION in gps:
        heading = _heading(_rational(gps[_GPS_DIRECTION]))
    return lat, lon, heading


def read_exif_dir(directory: str) -> SampleSet:
    directory = os.path.abspath(directory)
    samples, skipped = [], {}
    for path in _images_under(directory):
        if not path.lower().endswith((".jpg", ".jpeg")):
            continue
        try:
            parsed = read_exif_gps(path)
        except (OSError, ValueError, TypeError, ZeroDivisionError, SyntaxError):
            skipped["unreadable EXIF"] = skipped.get("unreadable EXIF", 0) + 1
            continue
        if parsed is None:
            skipped["no GPS"] = skipped.get("no GPS", 0) + 1
            continue
        lat, lon, heading = parsed
        samples.append(Sample(path, lat, lon, None, heading))
    return SampleSet(f"exif:{directory}", samples, skipped)


def read_samples(spec: str, image_root: Optional[str] = None) -> SampleSet:
    """Reads csv:FILE, vpr:DIR, exif:DIR or a bare CSV path. Raises DataError; an empty set is
    an error too (nothing to train or validate on)."""
    kind, sep, where = spec.partition(":")
    if not sep or kind not in ("csv", "vpr", "exif"):
        kind, where = "csv", spec
        if os.path.isdir(spec):
            raise DataError(f"{spec}: a folder; say how to read it: vpr:{spec} (VPR file names) "
                            f"or exif:{spec} (EXIF GPS)")
    if kind == "csv":
        result = read_csv(where, image_root)
    elif kind == "vpr":
        result = read_vpr_dir(where)
    else:
        result = read_exif_dir(where)
    if not result.samples:
        raise DataError(f"{spec}: no geotagged images (skipped: {result.skipped or 'none'})")
    return result
