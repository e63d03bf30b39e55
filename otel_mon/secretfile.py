"""Read a secret (a token, a URL with a key in it) from a file, refusing what would silently weaken it.

One reader for every ``*_FILE`` / ``*_file`` setting. A file that is empty or blank would turn auth off, so it
is refused; so is a value with control characters or surrounding whitespace (a stray CR or space makes a token
that never matches, or one that differs from what the operator believes), anything but a regular file (a
FIFO or ``/dev/zero`` would block or exhaust memory) and anything larger than ``MAX_BYTES``. One trailing line
break is the file's, not the secret's. A file other users can read is worth a warning, not a refusal.
"""

from __future__ import annotations

import os
import stat

MAX_BYTES = 64 * 1024


class SecretFileError(ValueError):
    """Why the file cannot be used, as a predicate ("is empty"); the message never includes its content."""


def read_secret_file(path: str) -> tuple[str, str | None]:
    """(secret, warning or None); raises ``SecretFileError`` with a short reason."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise SecretFileError(f"cannot be read: {exc.strerror}") from None
    except ValueError:  # a NUL byte in the path
        raise SecretFileError("cannot be read: not a valid path") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SecretFileError("is not a regular file")
        if st.st_size > MAX_BYTES:
            raise SecretFileError(f"is larger than {MAX_BYTES // 1024} KiB")
        data = os.read(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise SecretFileError(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise SecretFileError(f"is larger than {MAX_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFileError("is not UTF-8 text") from None
    value = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    problem = secret_problem(value)
    if problem:
        raise SecretFileError(problem)
    warning = None
    if st.st_mode & stat.S_IROTH:
        warning = f"{path} is readable by every user (mode {stat.S_IMODE(st.st_mode):04o}); chmod o-r it"
    return value, warning


def secret_problem(value: str) -> str | None:
    """Why ``value`` cannot be a secret (empty, blank, surrounding whitespace, control characters), or None."""
    if not value.strip():
        return "is empty" if not value else "holds only whitespace"
    if value != value.strip():
        return "has whitespace around the secret"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "holds control characters"
    return None
