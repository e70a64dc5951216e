"""The PWA's PNG icons (public/icons/, app/apple-icon.png), drawn like app/icon.svg: a white-blue H on dark blue.

Run `python web/scripts/make_icons.py` (Pillow) after changing the icon; the PNGs are committed.
The maskable icon fills its square (the phone crops it to its own shape), its H inside the
central safe zone.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BACKGROUND = (12, 74, 110, 255)  # #0c4a6e
LETTER = (224, 242, 254, 255)  # #e0f2fe
OUT = Path(__file__).resolve().parents[1] / "public" / "icons"


def draw_h(draw: ImageDraw.ImageDraw, size: int, scale: float) -> None:
    """A bold H of height `scale` × size, centred: two stems and a bar."""
    height = size * scale
    width = height * 0.78
    stem = height * 0.22
    left = (size - width) / 2
    top = (size - height) / 2
    draw.rectangle([left, top, left + stem, top + height], fill=LETTER)
    draw.rectangle([left + width - stem, top, left + width, top + height], fill=LETTER)
    bar = height * 0.18
    middle = top + height / 2
    draw.rectangle([left, middle - bar / 2, left + width, middle + bar / 2], fill=LETTER)


def icon(size: int, *, maskable: bool) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle([0, 0, size, size], fill=BACKGROUND)
        draw_h(draw, size, 0.42)
    else:
        draw.rounded_rectangle([0, 0, size - 1, size - 1], radius=size * 6 / 32, fill=BACKGROUND)
        draw_h(draw, size, 0.56)
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
    icon(512, maskable=True).save(OUT / "icon-maskable-512.png", optimize=True)
    # Next's file convention: <link rel="apple-touch-icon"> on every page.
    icon(180, maskable=True).save(OUT.parents[1] / "app" / "apple-icon.png", optimize=True)


if __name__ == "__main__":
    main()
