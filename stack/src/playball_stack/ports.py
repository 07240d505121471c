"""Is a port free on loopback, and if not, who holds it."""

import contextlib
import re
import shutil
import socket
import subprocess


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def holder_of(port: int) -> str | None:
    """Best-effort name of the process listening on ``port`` (``ss`` may be absent)."""
    ss = shutil.which("ss")
    if ss is None:
        return None
    result = subprocess.run(
        [ss, "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
    )
    match = re.search(r'users:\(\("([^"]+)",pid=(\d+)', result.stdout)
    return f"{match.group(1)} pid {match.group(2)}" if match else None
