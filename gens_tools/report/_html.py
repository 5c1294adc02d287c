"""The HTML report: one self-contained page (inline CSS, inline SVG chart, JPEG thumbnails as data URLs).

The page loads nothing: no scripts, fonts or images from anywhere, and its content security policy forbids
every fetch, so it opens offline and from an e-mail attachment alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from gens_tools import __version__
from gens_tools._imaging import encode_jpeg, fit_within, jpeg_data_url
from gens_tools.frames import Frame, format_timestamp
from gens_tools.report import _style as style
from gens_tools.report._chart import timeline_svg
from gens_tools.report._data import AnswerView, ReportData, ReportStep, card_id, merge_spans, nearest_frame

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_CSS = f"""
:root {{ --scored: {style.SCORED}; --fill: {style.FILL}; --all: {style.ALL}; --cited: {style.CITED};
  --lost: {style.LOST}; --ink: #212529; --muted: #6c757d; --line: #dee2e6; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; background: #fff; color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; }}
main {{ max-width: 1240px; margin: 0 auto; padding: 20px 20px 40px; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }}
h2 {{ font-size: 16px; margin: 26px 0 8px; }}
.sub {{ color: var(--muted); margin: 0 0 12px; word-break: break-all; }}
dl.facts {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 6px 18px;
  margin: 0; padding: 10px 12px; border: 1px solid var(--line); border-radius: 6px; }}
dl.facts div {{ min-width: 0; }}
dl.facts dt {{ color: var(--muted); font-size: 12px; }}
dl.facts dd {{ margin: 0; font-weight: 600; overflow-wrap: anywhere; }}
ul.notices {{ margin: 12px 0 0; padding: 8px 12px 8px 30px; background: #fff9db; border: 1px solid #ffe066;
  border-radius: 6px; }}
ul.notices li.bad {{ color: #c92a2a; }}
svg.chart {{ display: block; width: 100%; height: auto; }}
.answer {{ padding: 12px 14px; border-left: 4px solid var(--cited); background: #fff4e6; border-radius: 4px;
  white-space: pre-wrap; }}
.answer a.cite {{ color: inherit; background: #ffd8a8; padding: 0 3px; border-radius: 3px;
  text-decoration: none; font-weight: 600; }}
.answer mark.cite {{ background: none; color: inherit; border-bottom: 2px dotted var(--muted); }}
p.meta {{ color: var(--muted); font-size: 13px; margin: 6px 0 0; }}
.sheet {{ display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }}
figure.card {{ margin: 0; display: flex; flex-direction: column; align-items: flex-start; }}
figure.card img, figure.card .noimg {{ display: block; border: 3px solid var(--scored); }}
figure.card.fill img, figure.card.fill .noimg {{ border-color: var(--fill); }}
figure.card.all img, figure.card.all .noimg {{ border-color: var(--all); }}
figure.card.cited img, figure.card.cited .noimg {{ outline: 3px solid var(--cited); outline-offset: 2px; }}
figure.card .noimg {{ display: flex; align-items: center; justify-content: center; color: var(--muted);
  background: #f1f3f5; font-size: 12px; }}
figcaption {{ font-size: 12px; margin-top: 6px; line-height: 1.35; }}
figcaption time {{ font-weight: 700; font-variant-numeric: tabular-nums; }}
.tag {{ display: inline-block; padding: 0 5px; border-radius: 3px; color: #fff; font-size: 11px; }}
.tag.scored {{ background: var(--scored); }} .tag.fill {{ background: var(--fill); }}
.tag.all {{ background: var(--all); }} .tag.cited {{ background: var(--cited); }}
table.steps {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
table.steps th, table.steps td {{ border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left;
  vertical-align: top; }}
table.steps th {{ color: var(--muted); font-weight: 600; font-size: 12px; }}
table.steps td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.seen {{ display: flex; flex-wrap: wrap; gap: 6px; }}
.seen span {{ display: inline-flex; flex-direction: column; font-size: 11px; color: var(--muted); }}
.seen img {{ display: block; border: 1px solid var(--line); }}
footer {{ margin-top: 30px; color: var(--muted); font-size: 12px; }}
"""


def render_page(data: ReportData) -> str:
    """The whole report page as an HTML string."""
    sel = data.selection
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(_title(sel.question))} — gens-tools report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{escape(sel.question)}</h1>",
        f'<p class="sub">{escape(sel.video)}</p>',
        _facts(data),
        _notices(data),
    ]
    if data.answer is not None:
        parts.append(_answer(data, data.answer))
    parts += [
        "<h2>Relevance over the whole video</h2>",
        timeline_svg(data),
        f"<h2>Chosen frames ({len(data.frames)}, in time order)</h2>",
        _sheet(data),
    ]
    if data.steps:
        parts.append(_steps(data.steps))
    parts.append(f"<footer>Made by gens-tools {escape(__version__)}.</footer></main></body></html>")
    return "\n".join(parts)


def _title(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fact(name: str, value: str) -> str:
    return f"<div><dt>{escape(name)}</dt><dd>{escape(value)}</dd></div>"


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def _facts(data: ReportData) -> str:
    sel = data.selection
    x1 = data.extent[1]
    counts = {o: data.origins.count(o) for o in ("scored", "fill", "all")}
    chosen = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
    facts = [
        _fact("sampler", sel.sampler),
        _fact("strategy", data.strategy),
        _fact(
            "K asked / chosen",
            f"{'—' if sel.k is None else sel.k} / {len(data.frames)}" + (f" ({chosen})" if chosen else ""),
        ),
        _fact("candidates", f"{sel.n_candidates} at {sel.fps:g} fps" if sel.n_candidates else f"{sel.fps:g} fps"),
        _fact("video length", format_timestamp(x1, decimals=0)),
    ]
    if sel.start is not None or sel.end is not None:
        a = format_timestamp(sel.start or 0.0, decimals=0)
        b = format_timestamp(sel.end if sel.end is not None else x1, decimals=0)
        facts.append(_fact("range asked", f"{a}–{b}"))
    if sel.windows:
        failed = sum(not w.scored for w in sel.windows)
        repaired = sum(w.repaired for w in sel.windows)
        extra = ", ".join(
            x
            for x in (
                f"{failed} not scored" if failed and sel.sampler != "uniform" else "",
                f"{repaired} repaired" if repaired else "",
            )
            if x
        )
        facts.append(_fact("windows", f"{len(sel.windows)}" + (f" ({extra})" if extra else "")))
    if sel.spans:
        stretches = merge_spans([(sp.start, sp.end) for sp in sel.spans])
        seconds = sum(b - a for a, b in stretches)
        facts.append(
            _fact("relevant", f"{seconds:.0f} s in {len(stretches)} stretch" + ("es" if len(stretches) > 1 else ""))
        )
    if sel.timings:
        order = ("decode", "score", "select", "total")
        keys = [k for k in order if k in sel.timings] + [k for k in sel.timings if k not in order]
        facts.append(_fact("timings", ", ".join(f"{k} {_seconds(sel.timings[k])}" for k in keys)))
    answer = data.answer
    if answer is not None:
        who = " ".join(x for x in (answer.provider, answer.model) if x) or "—"
        if answer.seconds is not None:
            who += f" in {_seconds(answer.seconds)}"
        facts.append(_fact("answered by", who))
        if answer.input_tokens is not None or answer.output_tokens is not None:
            in_out = f"{_count(answer.input_tokens)} / {_count(answer.output_tokens)}"
            facts.append(_fact("tokens in / out", in_out))
    if data.steps:
        tokens = [s.tokens for s in data.steps if s.tokens is not None]
        secs = [s.seconds for s in data.steps if s.seconds is not None]
        total = (
            f"{len(data.steps)}"
            + (f", {sum(tokens):,} tokens" if tokens else "")
            + (f", {_seconds(sum(secs))}" if secs else "")
        )
        facts.append(_fact("agent steps", total))
    return f'<dl class="facts">{"".join(facts)}</dl>'


def _count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def _notices(data: ReportData) -> str:
    sel = data.selection
    items = [f"<li>{escape(n)}</li>" for n in sel.notices]
    for a, b in sel.lost_spans:
        items.append(
            f'<li class="bad">Could not decode {format_timestamp(a)}–{format_timestamp(b)} of the video: '
            "nothing there was seen.</li>"
        )
    if sel.sampler != "uniform":
        for w in sel.windows:
            if not w.scored:
                why = "; ".join(w.issues) or "no usable output"
                items.append(
                    f'<li class="bad">Window {w.index} ({format_timestamp(w.start)}–{format_timestamp(w.end)}) '
                    f"could not be scored: {escape(why)}.</li>"
                )
            elif w.repaired:
                why = "; ".join(w.issues) or "its output had to be repaired"
                items.append(
                    f"<li>Window {w.index} ({format_timestamp(w.start)}–{format_timestamp(w.end)}): {escape(why)}.</li>"
                )
    return f'<ul class="notices">{"".join(items)}</ul>' if items else ""


def _answer(data: ReportData, answer: AnswerView) -> str:
    from gens_tools.assistants import find_citations

    text = answer.text
    out: list[str] = []
    pos = 0
    elsewhere: list[str] = []
    for cite in find_citations(text):
        at = text.find(cite.text, pos)
        if at < 0:
            continue
        end = at + len(cite.text)
        if at > pos and text[at - 1] == "[" and text[end : end + 1] == "]":
            at, end = at - 1, end + 1  # the brackets belong to the citation
        out.append(escape(text[pos:at]))
        target = nearest_frame(data.frames, cite.seconds)
        written = escape(text[at:end])
        if target is not None:
            out.append(f'<a class="cite" href="#{card_id(target)}">{written}</a>')
        else:
            out.append(f'<mark class="cite" title="not among the chosen frames">{written}</mark>')
            elsewhere.append(cite.label)
        pos = end
    out.append(escape(text[pos:]))
    cited = [data.frames[i].label for i in sorted(data.cited)]
    meta = f"Cites {len(cited)} of the chosen frames" + (f": {', '.join(cited)}" if cited else "") + "."
    if elsewhere:
        meta += f" Also cites {', '.join(dict.fromkeys(elsewhere))}, not among the chosen frames."
    if answer.n_frames_sent is not None:
        meta += f" {answer.n_frames_sent} frames were sent."
    return f'<h2>Answer</h2><div class="answer">{"".join(out)}</div><p class="meta">{escape(meta)}</p>'


def _thumb(frame: Frame, side: int) -> tuple[str, int, int] | None:
    """The frame as a small JPEG data URL with its size, or ``None`` when it has no image."""
    if frame.image is None and frame.path is None:
        return None
    try:
        image = frame.require_image()
    except (OSError, ValueError):
        return None
    jpeg = encode_jpeg(image, quality=style.THUMB_QUALITY, max_side=side)
    w, h = fit_within(image.width, image.height, side)
    return jpeg_data_url(jpeg), w, h


def _sheet(data: ReportData) -> str:
    side = style.thumb_side(len(data.frames))
    cards = []
    for n, (frame, origin) in enumerate(zip(data.frames, data.origins, strict=True)):
        cited = n in data.cited
        classes = " ".join(["card", origin] + (["cited"] if cited else []))
        thumb = _thumb(frame, side)
        if thumb is None:
            picture = f'<div class="noimg" style="width:{side}px;height:{side * 9 // 16}px">no image</div>'
        else:
            url, w, h = thumb
            picture = f'<img src="{url}" width="{w}" height="{h}" alt="frame at {frame.label}">'
        score = "not scored" if frame.score is None else f"score {frame.score:g}"
        tags = f'<span class="tag {origin}">{origin}</span>' + (
            ' <span class="tag cited">cited</span>' if cited else ""
        )
        cards.append(
            f'<figure class="{classes}" id="{card_id(n)}" data-t="{frame.timestamp:.3f}" '
            f'title="#{n + 1} at {frame.label}, {score}, {origin}">{picture}'
            f"<figcaption><b>#{n + 1}</b> <time>{frame.label}</time> · {score}<br>{tags}</figcaption></figure>"
        )
    if not cards:
        return '<p class="meta">No frames were chosen.</p>'
    return f'<div class="sheet">{"".join(cards)}</div>'


def _steps(steps: Sequence[ReportStep]) -> str:
    rows = []
    for n, step in enumerate(steps):
        seen = []
        for f in step.frames:
            thumb = _thumb(f, style.STEP_THUMB_SIDE)
            img = "" if thumb is None else f'<img src="{thumb[0]}" width="{thumb[1]}" height="{thumb[2]}" alt="">'
            score = "" if f.score is None else f" · {f.score:g}"
            seen.append(f"<span>{img}{f.label}{score}</span>")
        what = escape(step.question) + (f'<br><span class="meta">{escape(step.note)}</span>' if step.note else "")
        rows.append(
            f"<tr><td class=num>{n + 1}</td><td>{escape(step.action or '')}</td><td>{what}</td>"
            f"<td>{step.range_label}</td><td><div class=seen>{''.join(seen)}</div></td>"
            f"<td class=num>{_count(step.tokens) if step.tokens is not None else '—'}</td>"
            f"<td class=num>{_seconds(step.seconds) if step.seconds is not None else '—'}</td></tr>"
        )
    head = (
        "<tr><th>#</th><th>action</th><th>question asked</th><th>range</th><th>frames seen (time · score)</th>"
        "<th>tokens</th><th>time</th></tr>"
    )
    return f'<h2>Agent steps</h2><table class="steps">{head}{"".join(rows)}</table>'
