"""A private, throwaway PostgreSQL server for a benchmark, like the one `scripts/test.sh` starts:
a fresh cluster in a temporary folder on a free local port, durability off, stopped and deleted
on exit (errors and Ctrl-C included). Needs PostgreSQL's server binaries (Debian: `apt-get
install postgresql`); run as root, the server runs as the `postgres` user.

    with private_postgres() as url:   # "postgres://postgres@127.0.0.1:<port>/postgres"
        os.environ["DATABASE_URL"] = url
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name.split(".")[0]))
    if not found:
        raise SystemExit("PostgreSQL's server is not installed (Debian: apt-get install postgresql).")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def private_postgres():
    """Yield the URL of a fresh PostgreSQL server's `postgres` database; stop and delete it after."""
    pg_bin = _bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
    data, sockets, port = folder / "pg", folder / "sock", _free_port()
    data.mkdir()
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        for path in (data, sockets):
            shutil.chown(path, "postgres", "postgres")
    quiet = {"stdout": subprocess.DEVNULL, "check": True}
    started = False
    try:
        subprocess.run(
            _as_postgres([str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"])
            + ["--locale=C.UTF-8", "--no-sync"],
            **quiet,
        )
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60"])
            + ["-o", options, "start"],
            **quiet,
        )
        started = True
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                _as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(folder, ignore_errors=True)
