"""Reading a dataset file with errors that name it: what every public-dataset reader here shares.

A wrong path, a folder, an oversized or binary file gives a :class:`~cadence.errors.BadRequest` whose
message starts with the file (and the line, when there is one) and whose context carries them, so a
command line prints one useful sentence instead of a traceback.

>>> from pathlib import Path
>>> read_text(Path("/no/such.csv"), limit_bytes=1000, limit_note="a small file")
Traceback (most recent call last):
...
cadence.errors.BadRequest: /no/such.csv: no such file
>>> fail(Path("x.csv"), "column 'a': 'abc' is not a number", line=7).context
{'file': 'x.csv', 'line': 7}
"""

from __future__ import annotations

from pathlib import Path

from cadence.errors import BadRequest


def fail(path: Path, message: str, line: int | None = None) -> BadRequest:
    """The error for ``path`` (at ``line``): "<path>, line <n>: <message>"."""
    where = f"{path}, line {line}" if line is not None else f"{path}"
    context: dict[str, object] = {"file": str(path)}
    if line is not None:
        context["line"] = line
    return BadRequest(f"{where}: {message}", **context)


def read_text(
    path: Path, *, limit_bytes: int, limit_note: str, encoding: str = "utf-8-sig", expected: str = "text"
) -> str:
    """The whole file decoded with ``encoding``; refused when over ``limit_bytes`` (``limit_note`` says
    what size was expected), missing, a folder, not ``expected`` text, or unreadable."""
    try:
        size = path.stat().st_size
        if size > limit_bytes:
            raise fail(path, f"{size:,} bytes; {limit_note}")
        return path.read_bytes().decode(encoding)
    except FileNotFoundError:
        raise fail(path, "no such file") from None
    except IsADirectoryError:
        raise fail(path, "is a directory, not a data file") from None
    except UnicodeDecodeError as err:
        raise fail(path, f"not {expected} (byte {err.start})") from None
    except OSError as err:
        raise fail(path, f"cannot be read ({err.strerror})") from None
