"""Price list files in Django's storage (`default_storage`; FileSystemStorage by default).

A candidate is written to a scratch file, then moved into place whole, so a reader never sees a
partial file:
- on a file system (FileSystemStorage, also a shared mount for several web servers) the scratch
  file lives inside the storage directory and `os.replace` renames it into place atomically;
- on another storage (an object store) `save()` uploads a new, uniquely named object, which
  appears whole.
Version files are never rewritten: `feeds/versions/<n>-<sha>.xml` (+ `.gz`, + the offers snapshot
`.offers.json.gz` used for diffs). On a file system the published version is also hard-linked to
`feeds/current/kaspi.xml(.gz)` (replaced atomically), for a web server that serves files directly.
"""

import contextlib
import gzip
import os
import shutil
import tempfile
from pathlib import Path

import orjson
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage

VERSIONS_DIR = "feeds/versions"
CURRENT_NAME = "feeds/current/kaspi.xml"
SCRATCH_DIR = "feeds/tmp"
GZIP_LEVEL = 6


def _local() -> bool:
    return isinstance(default_storage, FileSystemStorage)


def scratch_file(suffix: str = ".xml") -> str:
    """A new local file for a candidate (inside the storage dir on a file system: same device)."""
    if _local():
        directory = Path(default_storage.path(SCRATCH_DIR))
    else:
        directory = Path(tempfile.gettempdir()) / "kaspisync-feeds"
    directory.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=".part-", suffix=suffix, dir=directory)
    os.close(fd)
    return path


def discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def put(path: str, name: str) -> str:
    """Move the finished local file `path` into storage as `name`, whole; returns the stored name."""
    if _local():
        dest = Path(default_storage.path(name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o644)
        os.replace(path, dest)
        return name
    try:
        with open(path, "rb") as fh:
            return default_storage.save(name, File(fh))
    finally:
        discard(path)


def gzip_file(path: str) -> str:
    """A gzip copy of a local file next to it (for serving to clients that accept gzip)."""
    target = scratch_file(".xml.gz")
    with (
        open(path, "rb") as src,
        open(target, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz,
    ):
        shutil.copyfileobj(src, gz, 1 << 20)
    return target


def put_json_gz(data, name: str) -> str:
    path = scratch_file(".json.gz")
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(orjson.dumps(data))
    return put(path, name)


def read_json_gz(name: str):
    if not name or not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as raw, gzip.open(raw, "rb") as fh:
        return orjson.loads(fh.read())


def link_current(name: str, gz_name: str) -> None:
    """Point `feeds/current/kaspi.xml(.gz)` at a stored version (file systems only), atomically."""
    if not _local():
        return
    for source, target in ((name, CURRENT_NAME), (gz_name, CURRENT_NAME + ".gz")):
        src = Path(default_storage.path(source))
        if not src.exists():
            continue
        dest = Path(default_storage.path(target))
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        discard(str(temp))
        try:
            os.link(src, temp)
        except OSError:  # no hard links on this file system: a copy, still renamed into place
            shutil.copyfile(src, temp)
        os.replace(temp, dest)


def delete(*names: str) -> None:
    for name in names:
        if name and default_storage.exists(name):
            default_storage.delete(name)
