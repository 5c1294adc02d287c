"""Finding model weights (a local folder or a Hugging Face hub id) and turning GPU out-of-memory into advice.

Nothing here downloads at import time or in tests: a hub id is resolved with ``huggingface_hub``'s
``snapshot_download``, which only reads the local cache when ``HF_HUB_OFFLINE=1`` (or
``TRANSFORMERS_OFFLINE=1``) is set, so offline machines fail at once with a clear
:class:`~gens_tools.errors.ModelUnavailableError` instead of waiting on the network.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gens_tools.errors import BackendUnavailableError, InvalidArgumentError, ModelUnavailableError, SamplerError
from gens_tools.samplers._local.device import LOCAL_INSTALL_HINT

#: Files fetched for a hub model: configs, tokenizer files, chat templates and safetensors weights.
#: Remote code (``*.py``) is never fetched.
HUB_ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]
#: PyTorch ``.bin`` weights, fetched only from a repository without safetensors (they are read with
#: ``torch.load(weights_only=True)``; other pickles, such as ``training_args.bin``, are never fetched).
HUB_BIN_PATTERNS = ["pytorch_model.bin", "pytorch_model-*.bin"]


def hub_allow_patterns(repo_files: list[str] | None) -> list[str]:
    """The files to fetch from a hub repository listing ``repo_files``: :data:`HUB_ALLOW_PATTERNS`, plus the
    ``.bin`` weights when it has no safetensors (or when its listing is unknown, ``None``: offline, only what
    is cached is read). Remote code (``*.py``) never."""
    if repo_files is not None and any(name.endswith(".safetensors") for name in repo_files):
        return list(HUB_ALLOW_PATTERNS)
    return [*HUB_ALLOW_PATTERNS, *HUB_BIN_PATTERNS]


_TRUE = {"1", "on", "yes", "true"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def hub_offline() -> bool:
    """Whether Hugging Face downloads are switched off (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``).

    The environment is read at call time, so setting the variable after import still counts."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in _TRUE:
            return True
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def how_to_get(model_id: str) -> str:
    """One sentence telling a user how to make ``model_id`` available on an offline machine."""
    return (
        f"download it on a machine with network access with `hf download {model_id}` (older "
        f"huggingface_hub: `huggingface-cli download {model_id}`) and copy the Hugging Face cache here, "
        "or pass the path of a folder holding the model (config.json and weights) instead of the id"
    )


def _looks_like_path(text: str) -> bool:
    return (
        text.startswith(("/", "./", "../", "~", "\\"))
        or text.count("/") > 1
        or "\\" in text
        or bool(re.match(r"^[A-Za-z]:[\\/]", text))
        or not _HUB_ID.match(text)
    )


def _check_folder(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise ModelUnavailableError(f"{what} {str(path)!r} is a file, not a model folder")
    if not (path / "config.json").is_file():
        raise ModelUnavailableError(
            f"{what} {str(path)!r} has no config.json, so it is not a saved transformers model "
            "(save one with model.save_pretrained(folder))"
        )
    return path


def resolve_model_path(
    model_id_or_path: str | os.PathLike[str],
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """The local folder holding a model.

    Args:
        model_id_or_path: an existing folder (used as is; it must contain ``config.json``) or a hub id such
            as ``"yaolily/GenS-qwen2d5-vl-3b"``.
        revision: a branch, tag or commit of the hub repository (hub ids only).
        cache_dir: the Hugging Face cache to use (default: the user cache, ``HF_HOME``/``HF_HUB_CACHE``).

    Returns:
        The folder (a snapshot in the Hugging Face cache for hub ids).

    Raises:
        ModelUnavailableError: the folder does not exist or is not a model, or the weights are not cached
            and cannot be downloaded (offline, unknown or gated id, no network). The message names the
            model and says how to get it.
        BackendUnavailableError: ``huggingface_hub`` is not installed.
    """
    text = os.fspath(model_id_or_path)
    if not isinstance(text, str) or not text.strip():
        raise ModelUnavailableError("no model given: pass a hub id or the path of a model folder")
    text = text.strip()
    local = Path(text).expanduser()
    if local.exists():
        return _check_folder(local.resolve(), "model folder")
    if _looks_like_path(text):
        raise ModelUnavailableError(
            f"model folder {text!r} does not exist (and it is not a Hugging Face hub id such as "
            "'yaolily/GenS-qwen2d5-vl-3b')"
        )
    try:
        from huggingface_hub import HfApi, snapshot_download
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError as exc:
        raise BackendUnavailableError(
            f"loading {text!r} from the Hugging Face hub needs huggingface_hub: {LOCAL_INSTALL_HINT}"
        ) from exc

    offline = hub_offline()
    name = text if revision is None else f"{text}@{revision}"
    try:
        listing = None if offline else _list_repo_files(HfApi(), text, revision)
        folder = snapshot_download(
            text,
            revision=revision,
            cache_dir=os.fspath(cache_dir) if cache_dir is not None else None,
            local_files_only=offline,
            allow_patterns=hub_allow_patterns(listing),
        )
    except GatedRepoError as exc:
        raise ModelUnavailableError(
            f"model {name!r} is gated: accept its licence on huggingface.co and log in (`hf auth login`), "
            f"or {how_to_get(text)}"
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ModelUnavailableError(
            f"model {name!r} was not found on the Hugging Face hub (check the id); or {how_to_get(text)}"
        ) from exc
    except RevisionNotFoundError as exc:
        raise ModelUnavailableError(f"model {text!r} has no revision {revision!r}") from exc
    except LocalEntryNotFoundError as exc:
        why = "HF_HUB_OFFLINE is set" if offline else "the Hugging Face hub could not be reached"
        raise ModelUnavailableError(
            f"model {name!r} is not in the local Hugging Face cache and {why}: {how_to_get(text)}"
        ) from exc
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"model {name!r} could not be fetched ({type(exc).__name__}: {exc}); {how_to_get(text)}"
        ) from exc
    return _check_folder(Path(folder), f"downloaded model {name!r} in")


def _list_repo_files(api: Any, repo_id: str, revision: str | None) -> list[str] | None:
    """The repository's file names, or ``None`` when they cannot be listed for another reason than the
    repository or revision being unknown or gated (those are raised); the download then decides."""
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        files: list[str] = api.list_repo_files(repo_id, revision=revision)
    except (GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError):
        raise
    except Exception:  # no network, a proxy, a timeout…: snapshot_download falls back to the cache or says why
        return None
    return files


def _is_oom(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")
    oom_type = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def smaller_window(window_size: int) -> int:
    """The window size to suggest after running out of memory at ``window_size`` (half, at least 1)."""
    return max(1, int(window_size) // 2)


@contextlib.contextmanager
def guard_oom(window_size: int, *, batch_size: int = 1) -> Iterator[None]:
    """Turn an out-of-memory error inside the block into a :class:`SamplerError` with advice.

    The message says which smaller window size (or batch size) to try; the accelerator's cached memory is
    released first so the process can go on. Other errors pass through unchanged.
    """
    try:
        yield
    except (RuntimeError, MemoryError) as exc:
        if not (_is_oom(exc) or isinstance(exc, MemoryError)):
            raise
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            with contextlib.suppress(Exception):
                torch.cuda.empty_cache()
        if batch_size > 1:
            advice = f"try batch_size=1 (then window_size={smaller_window(window_size)})"
        else:
            advice = f"try window_size={smaller_window(window_size)}"
        raise SamplerError(
            f"out of memory while scoring {batch_size} window(s) of up to {window_size} frames: {advice}, "
            "a smaller frame size, or a GPU with more memory"
        ) from exc


def check_options(setup: Callable[..., object], options: dict[str, object]) -> None:
    """Refuse option names that ``setup`` (a sampler's keyword-only configuration method) does not accept,
    before any weights are loaded: a typo should not cost a model load."""
    accepted = [
        name
        for name, param in inspect.signature(setup).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY and name != "model_id"
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InvalidArgumentError(f"unknown option(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}")
