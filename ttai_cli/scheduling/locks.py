"""One lock per job, so that a second process for the same job steps aside.

An exclusive `flock` on `$TTAI_HOME/locks/<job>.lock`, held for as long as the process
runs the job. The kernel drops it when the process dies, however it dies (SIGKILL
included), so a lock is never left stuck and the file is never deleted (deleting it
would let two processes lock two different files of the same name). The file holds the
holder's pid, for messages only.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from types import TracebackType

from ttai_cli.errors import ConfigError, DiskFull

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def lock_path(locks_dir: Path, job: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", job)
    return locks_dir / f"{safe}.lock"


class JobLock:
    def __init__(self, locks_dir: Path, job: str) -> None:
        self.path = lock_path(locks_dir, job)
        self.job = job
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it. A lock
        file the OS cannot create (a file named `locks` in the way, a job name too long
        for a file name) is a `ConfigError`: exit 2, one line; no space to create it is
        `DiskFull` (exit 1). The holder's pid goes into the file for messages only: a
        full disk that cannot take it does not stop the job."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFull(
                    f"disk full: cannot create the lock file {self.path} (no space left)"
                ) from None
            if isinstance(exc, FileExistsError):  # mkdir's answer when `locks` is a file
                reason = f"{self.path.parent} is a file, not a directory"
            else:
                reason = exc.strerror or exc.__class__.__name__
            raise ConfigError(f"cannot create the lock file {self.path} ({reason})") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:  # (a full disk: the lock is held all the same, its pid unknown)
            pass
        self._fd = fd
        return True

    def holder(self) -> int | None:
        """The pid written by the current holder, if readable."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> JobLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
