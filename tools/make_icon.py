"""Rasterise the icon (src/icp_agent/assets/icon.svg: a bullseye on a rounded square) to PNG.

The SVG is the source; MCP clients must accept PNG, so the server advertises both. This draws
the same shapes with 4x4 supersampling using only the standard library, so no image library is
a dependency. Run: python tools/make_icon.py
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

SIZE, SS = 128, 4
BACKGROUND, OUTER, INNER, CENTRE = (0x0F, 0x3D, 0x5E), (0x9F, 0xD3, 0xF5), (0xD8, 0xEE, 0xFC), (0xFF, 0xB5, 0x47)


def colour_at(x: float, y: float) -> tuple[int, int, int, int]:
    corner = 24
    cx, cy = min(max(x, corner), SIZE - corner), min(max(y, corner), SIZE - corner)
    if math.hypot(x - cx, y - cy) > corner:
        return (0, 0, 0, 0)
    r = math.hypot(x - 64, y - 64)
    if r <= 11:
        return (*CENTRE, 255)
    if abs(r - 27) <= 4.5:
        return (*INNER, 255)
    if abs(r - 44) <= 4.5:
        return (*OUTER, 255)
    return (*BACKGROUND, 255)


def png(path: Path) -> None:
    rows = []
    for py in range(SIZE):
        row = bytearray([0])
        for px in range(SIZE):
            samples = [colour_at(px + (i + 0.5) / SS, py + (j + 0.5) / SS) for i in range(SS) for j in range(SS)]
            alpha = sum(s[3] for s in samples)
            rgb = [round(sum(s[k] * s[3] for s in samples) / alpha) if alpha else 0 for k in range(3)]
            row += bytes([*rgb, round(alpha / len(samples))])
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    png(root / "src" / "icp_agent" / "assets" / "icon.png")
