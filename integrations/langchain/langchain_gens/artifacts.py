"""The tool's artifact in two forms: the :class:`FrameSelection` itself, or its JSON form for persisted state.

A ``FrameSelection`` holds PIL images, which LangGraph's checkpoint serializer cannot store, so an agent with
a checkpointer (any persisted conversation) needs ``artifact_format="json"``: the dict of
:meth:`FrameSelection.to_dict` with each frame as base64 JPEG. :meth:`FrameSelection.from_dict` (also
available here as :func:`selection_from_dict`) turns it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from gens_tools import FrameSelection

ArtifactFormat = Literal["selection", "json"]

_REQUIRED = ("video", "question", "frames")


def selection_to_artifact(
    selection: FrameSelection, artifact_format: ArtifactFormat, *, jpeg_quality: int
) -> FrameSelection | dict[str, Any]:
    """The artifact a tool returns for ``selection`` in ``artifact_format``."""
    if artifact_format == "json":
        return selection.to_dict(images="base64", jpeg_quality=jpeg_quality)
    return selection


def is_selection_dict(value: object) -> bool:
    """Whether ``value`` looks like the JSON form of a selection (what ``artifact_format="json"`` returns)."""
    return (
        isinstance(value, Mapping)
        and all(key in value for key in _REQUIRED)
        and isinstance(value["frames"], list)
        and all(isinstance(f, Mapping) and "timestamp" in f for f in value["frames"])
    )


def selection_from_dict(data: Mapping[str, Any]) -> FrameSelection:
    """Rebuild a :class:`FrameSelection` (images decoded) from its JSON form; the same as
    :meth:`FrameSelection.from_dict`.

    Raises:
        InvalidArgumentError: ``data`` is not the JSON form of a selection, or an image cannot be read.
    """
    return FrameSelection.from_dict(data)
