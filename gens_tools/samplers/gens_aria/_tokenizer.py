"""The GenS tokenizer as the official code loads it: the slow (sentencepiece) Llama tokenizer.

The official code (like Aria's own, whose authors hard-coded it after seeing differences) asks transformers
for ``use_fast=False``, which for a Llama-class tokenizer meant the Python tokenizer running ``tokenizer.model``
through sentencepiece. transformers 5 no longer has that class and ignores ``use_fast``; a checkpoint's
``tokenizer.json`` may not tokenise the same way (the whitespace after special tokens differs between the
legacy and non-legacy Llama schemes, and the GenS prompt is full of special tokens). So when the folder has a
``tokenizer.model``, declares a Llama tokenizer (or no class) and ``sentencepiece`` is installed,
:class:`SlowLlamaTokenizer` is used: transformers' sentencepiece backend with the slow Llama tokenizer's
behaviour on top (BOS/EOS from ``add_bos_token``/``add_eos_token``, the ``legacy`` whitespace scheme, decoding
through sentencepiece so byte-fallback pieces become text). Otherwise the fast tokenizer is used, and when a
``tokenizer.model`` was there but could not be used that way, a warning says so.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import warnings
from pathlib import Path
from typing import Any

from gens_tools.errors import ModelUnavailableError

#: The sentencepiece model file of a slow tokenizer.
SENTENCEPIECE_FILE = "tokenizer.model"
#: The word-boundary marker of sentencepiece pieces.
SPIECE_UNDERLINE = "▁"
#: Tokenizer classes the slow path reproduces (as declared in ``tokenizer_config.json``).
SLOW_CLASSES = ("LlamaTokenizer", "LlamaTokenizerFast")


def sentencepiece_installed() -> bool:
    """Whether the ``sentencepiece`` package can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec("sentencepiece") is not None
    except (ImportError, ValueError):
        return False


def _tokenizer_config(folder: Path) -> dict[str, Any]:
    path = folder / "tokenizer_config.json"
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def slow_tokenizer_applies(folder: str | os.PathLike[str]) -> bool:
    """Whether the official code would load a sentencepiece (slow Llama) tokenizer from ``folder``: it has a
    ``tokenizer.model`` and declares a Llama tokenizer class, or none."""
    root = Path(folder)
    declared = _tokenizer_config(root).get("tokenizer_class")
    return (root / SENTENCEPIECE_FILE).is_file() and (declared is None or declared in SLOW_CLASSES)


@functools.cache
def _slow_class() -> type[Any]:
    from transformers.tokenization_utils_sentencepiece import SentencePieceBackend

    class SlowLlamaTokenizer(SentencePieceBackend):
        """transformers 4's slow ``LlamaTokenizer`` behaviour on transformers 5's sentencepiece backend."""

        vocab_files_names = {"vocab_file": SENTENCEPIECE_FILE}  # noqa: RUF012 - transformers' own class attribute
        model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

        def __init__(
            self,
            vocab_file: str | None = None,
            *,
            add_bos_token: bool = True,
            add_eos_token: bool = False,
            legacy: bool | None = None,
            add_prefix_space: bool | None = None,
            **kwargs: Any,
        ) -> None:
            pattern = {(True, False): "bos", (False, True): "eos", (True, True): "bos_eos"}.get(
                (bool(add_bos_token), bool(add_eos_token)), "none"
            )
            kwargs.setdefault("special_tokens_pattern", pattern)
            kwargs.setdefault("bos_token", "<s>")
            kwargs.setdefault("eos_token", "</s>")
            kwargs.setdefault("unk_token", "<unk>")
            self.add_prefix_space = True if add_prefix_space is None else bool(add_prefix_space)
            super().__init__(  # type: ignore[no-untyped-call]
                vocab_file=vocab_file,
                legacy=True if legacy is None else bool(legacy),  # unset meant legacy in transformers 4
                add_bos_token=add_bos_token,
                add_eos_token=add_eos_token,
                add_prefix_space=add_prefix_space,
                **kwargs,
            )

        def tokenize(self, text: str, **kwargs: Any) -> list[str]:  # type: ignore[override]
            """Legacy: every piece between special tokens is encoded on its own, sentencepiece adding its
            dummy prefix to each. Non-legacy: one word-boundary marker at the very start only."""
            if self.legacy or not text:
                tokens: list[str] = super().tokenize(text, **kwargs)
                return tokens
            text = text.replace(SPIECE_UNDERLINE, " ")
            if self.add_prefix_space:
                text = SPIECE_UNDERLINE + text
            tokens = super().tokenize(text, **kwargs)
            if len(tokens) > 1 and tokens[0] == SPIECE_UNDERLINE and tokens[1] in self.all_special_tokens:
                tokens = tokens[1:]
            return tokens

        def convert_tokens_to_string(self, tokens: list[str]) -> str:
            """Runs of ordinary pieces decoded by sentencepiece (byte-fallback pieces become their text),
            special and added tokens written as they are, the leading word-boundary marker dropped."""
            specials = set(self.all_special_tokens) | set(self.added_tokens_encoder)
            if tokens and tokens[0].startswith(SPIECE_UNDERLINE) and self.add_prefix_space:
                tokens = [tokens[0][1:], *tokens[1:]]
            out: list[str] = []
            run: list[str] = []
            for token in tokens:
                if token in specials:
                    out.append(self.sp_model.decode_pieces(run) if run else "")
                    out.append(token)
                    run = []
                else:
                    run.append(token)
            if run:
                out.append(self.sp_model.decode_pieces(run))
            return "".join(out)

    return SlowLlamaTokenizer


def load_slow_tokenizer(folder: str | os.PathLike[str]) -> Any:
    """The slow sentencepiece Llama tokenizer saved in ``folder`` (``tokenizer.model`` plus its
    ``tokenizer_config.json``: special and added tokens, ``legacy``, ``add_bos_token``, chat template)."""
    return _slow_class().from_pretrained(os.fspath(folder))


def load_tokenizer(path: str | os.PathLike[str], *, slow: bool | None = None) -> Any:
    """The tokenizer saved in a GenS folder, as the official code loads it, with a pad token set.

    Args:
        path: the checkpoint folder.
        slow: ``None`` (default) for the slow sentencepiece tokenizer when the folder has one and
            ``sentencepiece`` is installed (announced with a warning when it is not), else the fast one;
            ``True`` to require the slow one; ``False`` for the fast one (``tokenizer.json``).

    The pad token is the official one: ``<unk>`` when the tokenizer has none (else EOS).

    Raises:
        ModelUnavailableError: the tokenizer cannot be loaded (or ``slow=True`` and it cannot be slow).
    """
    folder = Path(path)
    use_slow = False
    if slow is not False and slow_tokenizer_applies(folder):
        if sentencepiece_installed():
            use_slow = True
        elif slow is None:
            warnings.warn(
                f"{str(folder)!r} has a sentencepiece tokenizer, which the official GenS code uses, but the "
                "sentencepiece package is not installed: using the fast tokenizer (tokenizer.json), whose token "
                "ids may differ; pip install sentencepiece (part of gens-tools[local])",
                stacklevel=2,
            )
    if slow is True and not use_slow:
        why = (
            "sentencepiece is not installed"
            if slow_tokenizer_applies(folder)
            else (f"the folder has no {SENTENCEPIECE_FILE} of a Llama tokenizer")
        )
        raise ModelUnavailableError(f"cannot load the slow tokenizer of {str(folder)!r}: {why}")
    try:
        if use_slow:
            tokenizer = load_slow_tokenizer(folder)
        else:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(os.fspath(folder))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
        kind = "slow (sentencepiece)" if use_slow else "fast"
        raise ModelUnavailableError(
            f"cannot load the {kind} tokenizer saved in {str(folder)!r} (remote tokenizer code is never run): {exc}"
        ) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token if tokenizer.unk_token is not None else tokenizer.eos_token
    return tokenizer
