"""The static report: one PNG with the header, the answer, the timeline (matplotlib) and the contact sheet.

For places that cannot show HTML (an issue tracker, a chat, a slide). The timeline is the same matplotlib
figure as the page's; the text and the contact sheet are laid out with Pillow in matplotlib's own font, so
the picture reads as one piece.
"""

from __future__ import annotations

import functools
import io
import textwrap
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from gens_tools.frames import format_timestamp
from gens_tools.report import _style as style
from gens_tools.report._chart import require_matplotlib, timeline_png
from gens_tools.report._data import ReportData

WIDTH = round(style.CHART_WIDTH * 100)
_PAD = 24
_INK = (33, 37, 41)
_MUTED = (108, 117, 125)
_WARN = (201, 42, 42)
#: Longest thumbnail side in the PNG, by number of frames (a tall sheet of many small pictures stays readable).
_PNG_THUMB_SIDES = ((32, 200), (96, 144), (320, 112), (10**9, 80))
_BORDER = 3
_CITE_RING = 3
_CAPTION = 16
_GAP = 12
#: At most this many lines of answer text and notices (the HTML page has them whole).
_MAX_ANSWER_LINES = 12
_MAX_NOTICES = 8


@functools.lru_cache(maxsize=8)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """matplotlib's DejaVu Sans at ``size`` px (Pillow's default font when it cannot be found)."""
    require_matplotlib()
    from matplotlib import font_manager

    try:
        path = font_manager.findfont(
            font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal"),
            fallback_to_default=True,
        )
        return ImageFont.truetype(path, size)
    except (OSError, ValueError):
        return ImageFont.load_default(size=size)


@dataclass
class _Canvas:
    """A growing column of pictures pasted one under another."""

    blocks: list[Image.Image]

    def text(self, lines: list[tuple[str, int, bool, tuple[int, int, int]]], *, gap: int = 4) -> None:
        """Add lines of text: ``(text, size px, bold, colour)`` each, wrapped to the width."""
        rows: list[tuple[str, ImageFont.FreeTypeFont | ImageFont.ImageFont, tuple[int, int, int], int]] = []
        for text, size, bold, color in lines:
            font = _font(size, bold)
            for line in _wrap(text, font, WIDTH - 2 * _PAD):
                rows.append((line, font, color, size))
        height = sum(size + gap for *_, size in rows) + gap
        block = Image.new("RGB", (WIDTH, max(height, 1)), "white")
        draw = ImageDraw.Draw(block)
        y = gap
        for line, font, color, size in rows:
            draw.text((_PAD, y), line, font=font, fill=color)
            y += size + gap
        self.blocks.append(block)

    def picture(self, image: Image.Image) -> None:
        self.blocks.append(image.convert("RGB"))

    def join(self) -> Image.Image:
        out = Image.new("RGB", (WIDTH, sum(b.height for b in self.blocks)), "white")
        y = 0
        for b in self.blocks:
            out.paste(b, (0, y))
            y += b.height
        return out


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    out: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if font.getlength(trial) <= width or not line:
                line = trial
            else:
                out.append(line)
                line = word
        # A single word wider than the line (a long path) is cut into pieces that fit.
        while font.getlength(line) > width and len(line) > 1:
            cut = max(1, int(len(line) * width / font.getlength(line)) - 1)
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return out


def render(data: ReportData) -> bytes:
    """The static report as PNG bytes."""
    sel = data.selection
    canvas = _Canvas([])
    x1 = data.extent[1]
    facts = [
        f"sampler {sel.sampler}",
        f"strategy {data.strategy}",
        f"K {'—' if sel.k is None else sel.k} asked, {len(data.frames)} chosen",
        f"video {format_timestamp(x1, decimals=0)}",
    ]
    if sel.timings:
        facts.append("timings " + ", ".join(f"{k} {v:.2f} s" for k, v in sel.timings.items()))
    lines: list[tuple[str, int, bool, tuple[int, int, int]]] = [
        (sel.question, 20, True, _INK),
        (sel.video, 13, False, _MUTED),
        (" · ".join(facts), 13, False, _INK),
    ]
    notices = list(sel.notices) + [
        f"could not decode {format_timestamp(a)}–{format_timestamp(b)}" for a, b in sel.lost_spans
    ]
    if sel.sampler != "uniform":
        notices += [f"window {w.index} could not be scored" for w in sel.windows if not w.scored]
        notices += [
            f"window {w.index}: {'; '.join(w.issues) or 'output repaired'}"
            for w in sel.windows
            if w.scored and w.repaired
        ]
    for note in notices[:_MAX_NOTICES]:
        lines.append(("! " + note, 13, False, _WARN))
    if len(notices) > _MAX_NOTICES:
        lines.append((f"… and {len(notices) - _MAX_NOTICES} more notices (see the HTML report)", 13, False, _WARN))
    canvas.text(lines)
    if data.answer is not None:
        a = data.answer
        body = textwrap.shorten(" ".join(a.text.split()), width=1400, placeholder=" …")
        who = " ".join(x for x in (a.provider, a.model) if x)
        cited = ", ".join(data.frames[i].label for i in sorted(data.cited)) or "none of the chosen frames"
        canvas.text(
            [
                ("Answer" + (f" ({who})" if who else ""), 15, True, _INK),
                *[(line, 13, False, _INK) for line in _first_lines(body, _MAX_ANSWER_LINES)],
                (f"cites: {cited}", 12, False, _MUTED),
            ]
        )
    canvas.picture(Image.open(io.BytesIO(timeline_png(data))))
    canvas.text([(f"Chosen frames ({len(data.frames)}, in time order)", 15, True, _INK)])
    canvas.picture(contact_sheet(data))
    if data.steps:
        rows: list[tuple[str, int, bool, tuple[int, int, int]]] = [("Agent steps", 15, True, _INK)]
        for n, s in enumerate(data.steps):
            extra = [f"{len(s.frames)} frames"]
            if s.tokens is not None:
                extra.append(f"{s.tokens:,} tokens")
            if s.seconds is not None:
                extra.append(f"{s.seconds:.2f} s")
            action = f"[{s.action}] " if s.action else ""
            rows.append((f"{n + 1}. {action}{s.question} — {s.range_label} — {', '.join(extra)}", 12, False, _INK))
        canvas.text(rows)
    canvas.blocks.append(Image.new("RGB", (WIDTH, _PAD), "white"))
    buf = io.BytesIO()
    canvas.join().save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _first_lines(text: str, n: int) -> list[str]:
    lines = _wrap(text, _font(13), WIDTH - 2 * _PAD)
    return lines if len(lines) <= n else [*lines[: n - 1], lines[n - 1] + " …"]


def contact_sheet(data: ReportData) -> Image.Image:
    """The chosen frames in time order, each framed in its kind's colour (cited ones ringed) and captioned."""
    side = next(s for limit, s in _PNG_THUMB_SIDES if len(data.frames) <= limit)
    thumbs: list[Image.Image | None] = []
    for f in data.frames:
        try:
            img = f.require_image() if (f.image is not None or f.path is not None) else None
        except (OSError, ValueError):
            img = None
        if img is not None:
            img = img.copy()
            img.thumbnail((side, side), Image.Resampling.BICUBIC)
        thumbs.append(img)
    cell_w = side + 2 * (_BORDER + _CITE_RING + 2)
    tallest = max([t.height for t in thumbs if t is not None] or [side * 9 // 16])
    cell_h = tallest + 2 * (_BORDER + _CITE_RING + 2) + _CAPTION + 4
    cols = max(1, (WIDTH - 2 * _PAD + _GAP) // (cell_w + _GAP))
    rows = max(1, -(-len(data.frames) // cols))
    sheet = Image.new("RGB", (WIDTH, rows * (cell_h + _GAP) + _GAP), "white")
    draw = ImageDraw.Draw(sheet)
    font = _font(12)
    for n, (frame, origin, thumb) in enumerate(zip(data.frames, data.origins, thumbs, strict=True)):
        r, c = divmod(n, cols)
        x = _PAD + c * (cell_w + _GAP) + _CITE_RING + 2
        y = _GAP + r * (cell_h + _GAP) + _CITE_RING + 2
        w, h = (thumb.width, thumb.height) if thumb is not None else (side, side * 9 // 16)
        if n in data.cited:
            out = _CITE_RING + 2  # a ring 2 px outside the border
            draw.rectangle(
                (x - out, y - out, x + w + 2 * _BORDER - 1 + out, y + h + 2 * _BORDER - 1 + out),
                outline=style.CITED,
                width=_CITE_RING,
            )
        draw.rectangle((x, y, x + w + 2 * _BORDER - 1, y + h + 2 * _BORDER - 1), fill=style.ORIGIN_COLORS[origin])
        if thumb is not None:
            sheet.paste(thumb, (x + _BORDER, y + _BORDER))
        else:
            draw.rectangle((x + _BORDER, y + _BORDER, x + _BORDER + w - 1, y + _BORDER + h - 1), fill="#f1f3f5")
            draw.text((x + _BORDER + 6, y + _BORDER + 6), "no image", font=font, fill=_MUTED)
        score = "–" if frame.score is None else f"{frame.score:g}"
        caption = next(
            (
                text
                for text in (f"#{n + 1}  {frame.label} · {score} · {origin}", f"{frame.label} · {score}")
                if font.getlength(text) <= cell_w
            ),
            frame.label,
        )
        draw.text((x, y + h + 2 * _BORDER + _CITE_RING + 3), caption, font=font, fill=_INK)
    return sheet
