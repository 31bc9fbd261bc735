"""Images of a workload (``images:``), for vision-language backends: files, or test pictures
made here so that a VLM benchmark needs no download.

``generated:WIDTHxHEIGHT`` is a deterministic RGB picture (sky and ground gradients, a sun, a
few houses and a road: edges and flat areas, like a street scene) written once as a binary PPM
(P6) into ``~/.cache/pibench/images/``. PPM needs no library to write and every image reader
takes it: OpenCV (the ``hailo_vlm`` backend) and stb_image (llama.cpp's libmtmd). A VLM's speed
does not depend on what the picture shows, only on its size.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.errors import UserError

_GENERATED = re.compile(r"^generated:(\d{1,5})x(\d{1,5})$")
MAX_SIDE = 8192


def _size(spec: str) -> tuple[int, int] | None:
    m = _GENERATED.match(spec.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def check_spec(spec: str) -> None:
    """ValueError (for the config loader) unless ``spec`` is a path or a valid generated:WxH."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("an image is a file path or generated:WIDTHxHEIGHT, e.g. "
                         "generated:336x336")
    if spec.strip().startswith("generated:"):
        size = _size(spec)
        if size is None or not all(8 <= side <= MAX_SIDE for side in size):
            raise ValueError(f"expected generated:WIDTHxHEIGHT with sides of 8 to {MAX_SIDE} "
                             f"pixels, e.g. generated:336x336, got {spec!r}")


def resolve_image(spec: str, base_dir: Path) -> str:
    """The file of an image spec: a generated picture (made if missing) or a path, ``~``
    expanded and relative to ``base_dir`` (the config's folder). Paths are not checked here:
    the backend reports a missing image."""
    size = _size(spec)
    if size is not None:
        return str(generated_image(*size))
    path = Path(spec).expanduser()
    return str(path if path.is_absolute() else base_dir / path)


def generated_image(width: int, height: int, directory: Path | None = None) -> Path:
    """The generated test picture of this size (written atomically on first use)."""
    from bench.models.files import atomic_path, cache_dir

    path = (directory or cache_dir() / "images") / f"generated-{width}x{height}.ppm"
    if path.is_file():
        return path
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"P6\n%d %d\n255\n" % (width, height) + picture(width, height))
    except OSError as exc:
        raise UserError(f"cannot write the test picture {path}: {exc.strerror or exc}") from None
    return path


def picture(width: int, height: int) -> bytes:
    """RGB bytes, row by row, of the test picture."""
    horizon = height * 3 // 5
    sun_x, sun_y, sun_r2 = width * 4 // 5, height // 5, (min(width, height) // 10) ** 2
    houses = [(width * k // 10, width * (k + 2) // 10, horizon - height * (k % 3 + 2) // 12)
              for k in (1, 4, 7)]
    out = bytearray()
    for y in range(height):
        row = bytearray()
        if y < horizon:
            shade = 120 + 100 * y // max(1, horizon)
            sky = bytes((shade // 2, shade * 3 // 4, 235))
            for x in range(width):
                if (x - sun_x) ** 2 + (y - sun_y) ** 2 <= sun_r2:
                    row += b"\xf5\xd2\x3c"
                elif any(x0 <= x < x1 and y >= top for x0, x1, top in houses):
                    window = (x // 6 + y // 6) % 4 == 0
                    row += b"\xf0\xe6\x8c" if window else b"\xa0\x52\x2d"
                else:
                    row += sky
        else:
            ground = 60 + 80 * (y - horizon) // max(1, height - horizon)
            grass = bytes((ground // 3, ground, ground // 4))
            road = b"\x50\x50\x50"
            half = (y - horizon + 4) * width // (3 * max(1, height - horizon))
            for x in range(width):
                row += road if abs(x - width // 2) <= half else grass
        out += row
    return bytes(out)
