"""The peer palette: one colour per other client, computed from the theme's background.

The transcript (`In [3] analyst@0d86`) and the peers pane (`● analyst 0d86`) both style a
client's name with the component class `peer_class(peer.colour)`; styles/nbtui.tcss maps
those classes to the CSS variables `$peer-0` ... made here, so a theme may still set its own.
Which index a client gets is the model's business (`nbtui.app.kernel.model.peer_colour`).
"""

from __future__ import annotations

import math
from functools import lru_cache

from textual.color import Color
from textual.theme import Theme

from nbtui.app.kernel.model import PEER_COLOURS

__all__ = [
    "PEER_CLASSES",
    "READABLE",
    "peer_class",
    "peer_palette",
    "peer_variables",
    "readable",
    "readable_variables",
    "theme_variables",
]

PEER_CLASSES = tuple(f"peer-{index}" for index in range(PEER_COLOURS))
"""The component classes of the palette, for a widget's COMPONENT_CLASSES."""

MIN_CONTRAST = 4.5
"""WCAG AA for normal text: the least contrast of a peer colour with the background."""

_CHROMA = 0.15
"""How colourful the palette is (OKLCH chroma), reduced where sRGB cannot reach it."""
_FIRST_HUE = 20.0
"""OKLCH hue of the first colour (a red); the others follow every 360 / PEER_COLOURS."""
_ON_DARK = 0.75
"""OKLCH lightness the colours have on a dark background, unless contrast needs more."""
_ON_LIGHT = 0.5
"""OKLCH lightness the colours have on a light background, unless contrast needs less."""
_WHITE = Color(255, 255, 255)
_BLACK = Color(0, 0, 0)

# The terminal's own 16 colours, for the ANSI themes: their background is the terminal's,
# unknown to us, so no contrast can be computed, and the user chose those colours to read.
_ANSI = ("ansi_red", "ansi_green", "ansi_yellow", "ansi_blue", "ansi_magenta", "ansi_cyan")


def peer_class(index: int) -> str:
    """The component class for palette entry `index` (any int: it wraps around)."""
    return PEER_CLASSES[index % PEER_COLOURS]


READABLE = {
    "nbtui-primary": "primary-lighten-2",
    "nbtui-primary-text": "primary",
    "nbtui-secondary": "secondary",
    "nbtui-accent": "accent",
    "nbtui-success": "success",
    "nbtui-warning": "warning",
    "nbtui-error": "error",
    "nbtui-error-light": "error-lighten-1",
}
"""nbtui's state and prompt colours (`$nbtui-success` ...) and the theme colour each is
made from: the same colour, unless it is too near the background to read (textual-light's
$success on white is about 2:1), then darker or lighter until it reads."""


MUTED_BLEND = 0.35
"""How far `$nbtui-muted` (notices, dropped lines) is from the foreground toward the
background: dimmer than text, still read at MIN_CONTRAST."""


def readable(colour: Color, *backgrounds: Color) -> Color:
    """`colour`, or the nearest shade of it toward black (on light backgrounds) or white
    (on dark ones) with MIN_CONTRAST against every one of `backgrounds`."""
    if min(_contrast(colour, ground) for ground in backgrounds) >= MIN_CONTRAST:
        return colour
    lighter = min(_contrast(_WHITE, g) for g in backgrounds) >= min(
        _contrast(_BLACK, g) for g in backgrounds
    )
    target = _WHITE if lighter else _BLACK
    for step in range(1, 21):
        shade = colour.blend(target, step / 20)
        if min(_contrast(shade, ground) for ground in backgrounds) >= MIN_CONTRAST:
            return shade
    return target


def readable_variables(theme: Theme) -> dict[str, str]:
    """The CSS variables of `READABLE` for `theme`, on its background and surface (the
    panes'); an ANSI theme's colours are the terminal's, kept as they are."""
    generated = theme.to_color_system().generate()
    background = Color.parse(generated["background"])
    if background.ansi is not None:
        variables = {name: generated[source] for name, source in READABLE.items()}
        return {**variables, "nbtui-muted": "ansi_bright_black"}
    grounds = [background]
    grounds.append(background + Color.parse(generated["surface"]))
    variables = {
        name: readable(background + Color.parse(generated[source]), *grounds).hex6
        for name, source in READABLE.items()
    }
    # $text-muted is "auto 60%", which a component style (the transcript's, partial) cannot
    # resolve without a background: it came out as plain white, unreadable on a light theme.
    foreground = background + Color.parse(generated["foreground"])
    muted = foreground.blend(background, MUTED_BLEND)
    variables["nbtui-muted"] = readable(muted, *grounds).hex6
    return variables


def peer_variables(theme: Theme) -> dict[str, str]:
    """The CSS variables `peer-0` ... for `theme`, from its background and surface."""
    generated = theme.to_color_system().generate()
    background = Color.parse(generated["background"])
    if background.ansi is not None:
        return {f"peer-{index}": name for index, name in enumerate(_ANSI[:PEER_COLOURS])}
    # The panes' surface is drawn over the background: blend it in case it is translucent.
    surface = background + Color.parse(generated["surface"])
    return {
        f"peer-{index}": colour.hex6
        for index, colour in enumerate(peer_palette(background.hex6, surface.hex6))
    }


@lru_cache(maxsize=8)
def peer_palette(*backgrounds: str) -> tuple[Color, ...]:
    """PEER_COLOURS colours that read on every one of `backgrounds` (hex colours).

    Why computed rather than taken from the theme: a theme's named colours are too few and
    not made for this ($accent and $warning are one orange in textual-dark, and
    $secondary on textual-dark's background is about 2:1). So the hues are spread evenly
    round the OKLCH circle, where equal steps look like equal steps, all at one lightness
    (none looks more important than another): light shades on a dark background, dark
    ones on a light background. Where that lightness is too near a background's for
    MIN_CONTRAST (a mid-grey theme), a hue moves away from it only as far as needed.
    """
    grounds = [Color.parse(background) for background in backgrounds]
    lighter = min(_contrast(_WHITE, g) for g in grounds) >= min(
        _contrast(_BLACK, g) for g in grounds
    )
    colours = []
    for index in range(PEER_COLOURS):
        hue = (_FIRST_HUE + index * 360 / PEER_COLOURS) % 360

        def enough(lightness: float, hue: float = hue) -> bool:
            colour = _oklch(lightness, hue)
            return min(_contrast(colour, ground) for ground in grounds) >= MIN_CONTRAST

        near, far = (_ON_DARK, 1.0) if lighter else (_ON_LIGHT, 0.0)
        if enough(near):
            colours.append(_oklch(near, hue))
            continue
        if not enough(far):
            colours.append(_oklch(far, hue))  # no lightness is enough: the best there is
            continue
        # The lightness nearest the wanted one that has the contrast.
        for _ in range(24):
            middle = (near + far) / 2
            if enough(middle):
                far = middle
            else:
                near = middle
        colours.append(_oklch(far, hue))
    return tuple(colours)


def _luminance(colour: Color) -> float:
    """WCAG relative luminance."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.r) + 0.7152 * linear(colour.g) + 0.0722 * linear(colour.b)


def _contrast(one: Color, other: Color) -> float:
    """WCAG contrast ratio, 1 to 21."""
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _oklch(lightness: float, hue: float) -> Color:
    """The sRGB colour at OKLCH (`lightness`, _CHROMA, `hue`), its chroma reduced until
    sRGB holds it, rounded to 8 bits (contrast is checked on what is shown)."""
    rgb = _oklab_to_srgb(lightness, _CHROMA, hue)
    if not _in_gamut(rgb):
        # Chroma 0 is a grey, always in gamut: find the most chroma that stays in.
        low, high = 0.0, _CHROMA
        rgb = _oklab_to_srgb(lightness, low, hue)
        for _ in range(16):
            chroma = (low + high) / 2
            candidate = _oklab_to_srgb(lightness, chroma, hue)
            if _in_gamut(candidate):
                low, rgb = chroma, candidate
            else:
                high = chroma
    r, g, b = (round(min(1.0, max(0.0, channel)) * 255) for channel in rgb)
    return Color(r, g, b)


def _in_gamut(rgb: tuple[float, float, float]) -> bool:
    return all(-1e-9 <= channel <= 1 + 1e-9 for channel in rgb)


def _oklab_to_srgb(lightness: float, chroma: float, hue: float) -> tuple[float, float, float]:
    """Björn Ottosson's OKLab to gamma-encoded sRGB (0 to 1, unclamped)."""
    a = chroma * math.cos(math.radians(hue))
    b = chroma * math.sin(math.radians(hue))
    l_ = (lightness + 0.3963377774 * a + 0.2158037573 * b) ** 3
    m_ = (lightness - 0.1055613458 * a - 0.0638541728 * b) ** 3
    s_ = (lightness - 0.0894841775 * a - 1.2914855480 * b) ** 3
    linear = (
        4.0767416621 * l_ - 3.3077115913 * m_ + 0.2309699292 * s_,
        -1.2684380046 * l_ + 2.6097574011 * m_ - 0.3413193965 * s_,
        -0.0041960771 * l_ - 0.7034186147 * m_ + 1.7076147010 * s_,
    )

    def encode(value: float) -> float:
        if value <= 0.0031308:
            return 12.92 * value
        return 1.055 * math.copysign(abs(value) ** (1 / 2.4), value) - 0.055

    r, g, b = (encode(value) for value in linear)
    return r, g, b


def theme_variables(theme: Theme) -> dict[str, str]:
    """Every CSS variable nbtui.tcss adds to a theme's: the peer palette and `READABLE`,
    for an app's `get_theme_variable_defaults`."""
    return {**peer_variables(theme), **readable_variables(theme)}
