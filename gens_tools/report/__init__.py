"""See what the sampler saw: a visual report of a frame selection.

One self-contained HTML page (it loads nothing and opens offline) or one static PNG, showing:

- a relevance timeline over the whole video: the score of every grid frame, the scoring windows (or a hybrid
  strategy's coarse ranking and the frames it passed on), relevant spans shaded, the chosen frames marked
  (scored ones apart from fill), the stretches that could not be decoded;
- a contact sheet of the chosen frames in time order, with their timestamps and scores;
- the question, sampler, strategy, K, timings and any fallback or repair notices;
- given an assistant's answer: the answer with its citations linked to the frames, the cited frames
  highlighted; given agent steps (:class:`ReportStep`): each step's question, range, frames, tokens and time.

::

    from gens_tools import sample_frames
    from gens_tools.report import save_report

    selection = sample_frames("talk.mp4", "When is the demo shown?", k=16)
    save_report("report.html", selection)          # or "report.png"
    html = selection.to_html()                     # the same page as a string

The chart is drawn with matplotlib (the ``report`` extra: ``pip install 'gens-tools[report]'``), imported on
first use; without it every function here raises :class:`~gens_tools.errors.BackendUnavailableError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import FrameSelection
from gens_tools.report._data import ReportStep, gather

__all__ = [
    "REPORT_SUFFIXES",
    "ReportStep",
    "check_report_path",
    "render_html",
    "render_png",
    "require_report_backend",
    "save_report",
]

#: The file kinds :func:`save_report` writes, by suffix.
REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".png": "png"}


def require_report_backend() -> None:
    """Check that the report can be drawn (matplotlib is installed).

    Raises:
        BackendUnavailableError: matplotlib is missing; the message names the ``report`` extra.
    """
    from gens_tools.report._chart import require_matplotlib

    require_matplotlib()


def render_html(selection: FrameSelection, *, answer: object = None, steps: Iterable[object] | None = None) -> str:
    """The report as one self-contained HTML page.

    Args:
        selection: what :func:`~gens_tools.sample_frames` returned (or :meth:`FrameSelection.from_dict` rebuilt).
        answer: an assistant's :class:`~gens_tools.assistants.Answer` about this selection (any object with
            ``text``, ``citations``, ``cited_frames``, ``frames``, ``usage`` and ``model``): shown with its
            citations linked to the frames they cite, which are highlighted.
        steps: a multi-step agent's trace, in order: :class:`ReportStep` objects, or mappings or objects with
            the same field names (``question``, ``start``, ``end``, ``frames``, ``tokens``, ``seconds``,
            optional ``action`` and ``note``).

    Raises:
        InvalidArgumentError: an argument is not what is described above.
        BackendUnavailableError: matplotlib is not installed (the ``report`` extra).
    """
    from gens_tools.report._html import render_page

    data = gather(selection, answer, steps)
    require_report_backend()
    return render_page(data)


def render_png(selection: FrameSelection, *, answer: object = None, steps: Iterable[object] | None = None) -> bytes:
    """The report as one static PNG (header, answer, timeline, contact sheet, steps), 1200 px wide.

    Arguments and errors as for :func:`render_html`.
    """
    from gens_tools.report._png import render

    data = gather(selection, answer, steps)
    require_report_backend()
    return render(data)


def check_report_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`~pathlib.Path` if its suffix names a report kind (``.html``, ``.htm``, ``.png``).

    Raises:
        InvalidArgumentError: any other suffix.
    """
    target = Path(path)
    if target.suffix.lower() not in REPORT_SUFFIXES:
        kinds = ", ".join(REPORT_SUFFIXES)
        raise InvalidArgumentError(f"a report is written as {kinds}; got {str(path)!r}")
    return target


def save_report(
    path: str | os.PathLike[str],
    selection: FrameSelection,
    *,
    answer: object = None,
    steps: Iterable[object] | None = None,
) -> Path:
    """Write the report to ``path``: an HTML page for ``.html``/``.htm``, a PNG for ``.png``.

    The file is written whole or not at all (through a temporary file beside it). Returns ``path``.

    Raises:
        InvalidArgumentError: another suffix, or a bad argument (see :func:`render_html`).
        BackendUnavailableError: matplotlib is not installed (the ``report`` extra).
    """
    target = check_report_path(path)
    if not target.parent.is_dir():
        raise InvalidArgumentError(f"cannot write the report: folder {str(target.parent)!r} does not exist")
    if REPORT_SUFFIXES[target.suffix.lower()] == "png":
        content = render_png(selection, answer=answer, steps=steps)
    else:
        content = render_html(selection, answer=answer, steps=steps).encode("utf-8")
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, target)
    return target
