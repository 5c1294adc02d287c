"""The exact input the official GenS (Aria-based) code builds for one window of frames.

Text: the GenS user message (``[i]`` + image per frame, ``Question: …``, the instruction) in the tokenizer's
chat template (ChatML), each image written as ``<fim_prefix><|img|><fim_suffix>``. Tokens: the text is split
at ``<|img|>``, every piece is tokenised on its own, a leading BOS is kept only on the first piece, and the
pieces are joined by the image token id (9). For transformers' native ``AriaForConditionalGeneration`` each
image token is then repeated once per projector query (128 for GenS), because the native model replaces image
token positions one-for-one with projector outputs.

Pixels: frames larger than 490 px are first shrunk (as the official sampler does), then the Aria image
processor resizes keeping the ratio so the long side is 490 and the short side at least 336 (bicubic), pads
right/bottom with zeros to 490×490 and normalises with mean = std = 0.5. The padding mask it also returns is
dropped: the official code passes none, so the model attends over the padding.

torch and transformers are imported only inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from gens_tools.errors import InvalidArgumentError
from gens_tools.samplers._prompt import GENS_INSTRUCTION, build_prompt_text, validate_question

if TYPE_CHECKING:
    import torch

#: The image token of the Aria/GenS vocabulary and its id.
IMAGE_TOKEN = "<|img|>"
IMAGE_TOKEN_ID = 9
#: Tokens written around each image when the checkpoint's ``mm_use_im_start_end`` is on (GenS: on).
IMAGE_START_TOKEN = "<fim_prefix>"
IMAGE_END_TOKEN = "<fim_suffix>"
#: Frame size GenS reads (px, square after padding) and the shortest side after resizing.
GENS_IMAGE_SIZE = 490
GENS_MIN_IMAGE_SIZE = 336
#: Stand-in for an image in the user message until the chat template has been applied.
FRAME_PLACEHOLDER = "<image1>"

#: ChatML, used when a tokenizer carries no chat template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def image_markup(use_image_start_end: bool = True) -> str:
    """What stands for one frame in the text: ``<fim_prefix><|img|><fim_suffix>`` (or ``<|img|>`` alone)."""
    return f"{IMAGE_START_TOKEN}{IMAGE_TOKEN}{IMAGE_END_TOKEN}" if use_image_start_end else IMAGE_TOKEN


def chat_text(tokenizer: Any, content: str) -> str:
    """``content`` as one user turn followed by the assistant's turn opening, in the tokenizer's chat template
    (ChatML when it has none): ``<|im_start|>user\\n…<|im_end|>\\n<|im_start|>assistant\\n``."""
    messages = [{"role": "user", "content": content}]
    template = getattr(tokenizer, "chat_template", None)
    text = tokenizer.apply_chat_template(
        messages,
        chat_template=None if template else CHATML_TEMPLATE,
        add_generation_prompt=True,
        tokenize=False,
    )
    if not isinstance(text, str):  # some versions return a list for a single conversation
        text = text[0]
    return str(text)


def window_text(
    tokenizer: Any,
    n_frames: int,
    question: str,
    *,
    use_image_start_end: bool = True,
    instruction: str = GENS_INSTRUCTION,
) -> str:
    """The full prompt text of one window, with one ``<|img|>`` per frame."""
    question = validate_question(question)
    for marker in (IMAGE_TOKEN, FRAME_PLACEHOLDER):
        if marker in question:
            raise InvalidArgumentError(f"the question must not contain {marker!r}: it marks an image in the prompt")
    content = build_prompt_text(n_frames, question, image_token=FRAME_PLACEHOLDER, instruction=instruction)
    text = chat_text(tokenizer, content)
    if text.count(FRAME_PLACEHOLDER) != n_frames:
        raise InvalidArgumentError("the tokenizer's chat template changed the frame placeholders")
    return text.replace(FRAME_PLACEHOLDER, image_markup(use_image_start_end))


def tokenize_pieces(tokenizer: Any, text: str, *, image_token_id: int = IMAGE_TOKEN_ID) -> list[int]:
    """Token ids of ``text`` the official way: split at ``<|img|>``, tokenise each piece on its own, keep a
    leading BOS only once (at the very start), join the pieces with one ``image_token_id`` per image."""
    pieces = [list(tokenizer(piece).input_ids) for piece in text.split(IMAGE_TOKEN)]
    bos: int | None = getattr(tokenizer, "bos_token_id", None)
    has_bos = bos is not None and bool(pieces[0]) and pieces[0][0] == bos
    ids: list[int] = [bos] if has_bos and bos is not None else []
    for i, piece in enumerate(pieces):
        if i > 0:
            ids.append(image_token_id)
        ids.extend(piece[1:] if has_bos and piece and piece[0] == bos else piece)
    return ids


def expand_image_tokens(
    ids: Sequence[int], tokens_per_image: int, *, image_token_id: int = IMAGE_TOKEN_ID
) -> list[int]:
    """Repeat every image token ``tokens_per_image`` times (what native Aria's forward expects)."""
    if tokens_per_image <= 0:
        raise InvalidArgumentError(f"tokens_per_image must be positive, got {tokens_per_image}")
    out: list[int] = []
    for tok in ids:
        if tok == image_token_id:
            out.extend([image_token_id] * tokens_per_image)
        else:
            out.append(tok)
    return out


def official_preshrink(image: Image.Image, max_size: int = GENS_IMAGE_SIZE) -> Image.Image:
    """The official sampler's first step: RGB, and frames larger than ``max_size`` on either side shrunk by
    ``min(max_size/w, max_size/h)`` (sizes truncated to integers, Pillow's default bicubic filter)."""
    img = image.convert("RGB") if image.mode != "RGB" else image
    w, h = img.size
    if w > max_size or h > max_size:
        ratio = min(max_size / w, max_size / h)
        img = img.resize((int(w * ratio), int(h * ratio)), Image.Resampling.BICUBIC)
    return img


def make_image_processor(**overrides: Any) -> Any:
    """transformers' PIL Aria image processor set up for GenS (490 px, short side ≥ 336, no splitting).

    The PIL backend is used on purpose: it resizes with Pillow's bicubic filter like the official code, and
    it does not need torchvision."""
    from transformers.models.aria.image_processing_pil_aria import AriaImageProcessorPil

    options: dict[str, Any] = {
        "max_image_size": GENS_IMAGE_SIZE,
        "min_image_size": GENS_MIN_IMAGE_SIZE,
        "split_image": False,
    }
    options.update(overrides)
    return AriaImageProcessorPil(**options)


def preprocess_frames(
    images: Sequence[Image.Image], image_processor: Any | None = None, *, return_pixel_mask: bool = False
) -> Any:
    """Pixel values ``(n, 3, 490, 490)`` (float32) for ``images``; with ``return_pixel_mask`` also the
    ``(n, 490, 490)`` mask of real (unpadded) pixels, which GenS does not use by default."""
    if not images:
        raise InvalidArgumentError("a window needs at least one frame")
    processor = image_processor if image_processor is not None else make_image_processor()
    shrunk = [official_preshrink(img) for img in images]
    out = processor(
        shrunk,
        max_image_size=GENS_IMAGE_SIZE,
        min_image_size=GENS_MIN_IMAGE_SIZE,
        split_image=False,
        return_tensors="pt",
    )
    pixel_values = out["pixel_values"]
    if return_pixel_mask:
        return pixel_values, out["pixel_mask"]
    return pixel_values


@dataclass(slots=True)
class WindowInputs:
    """Model inputs of one window.

    Attributes:
        input_ids: the token ids with every image token expanded to ``tokens_per_image`` copies.
        prefix_length: how many leading ids do not depend on the question (up to and including the last
            frame's image tokens); the KV cache over them can be reused for another question.
        n_frames: frames in the window.
        tokens_per_image: projector queries per frame.
        pixel_values: ``(n_frames, 3, 490, 490)`` tensor, or ``None`` when not built (prefix reused).
    """

    input_ids: list[int]
    prefix_length: int
    n_frames: int
    tokens_per_image: int
    pixel_values: torch.Tensor | None = None

    @property
    def prefix_ids(self) -> list[int]:
        """The question-independent leading ids."""
        return self.input_ids[: self.prefix_length]


def build_window_ids(
    tokenizer: Any,
    n_frames: int,
    question: str,
    *,
    tokens_per_image: int,
    use_image_start_end: bool = True,
    image_token_id: int = IMAGE_TOKEN_ID,
    instruction: str = GENS_INSTRUCTION,
) -> WindowInputs:
    """The token layout of one window (no pixels): see :class:`WindowInputs`."""
    text = window_text(tokenizer, n_frames, question, use_image_start_end=use_image_start_end, instruction=instruction)
    ids = tokenize_pieces(tokenizer, text, image_token_id=image_token_id)
    if ids.count(image_token_id) != n_frames:
        raise InvalidArgumentError(
            f"the prompt holds {ids.count(image_token_id)} image tokens for {n_frames} frames "
            "(does the question or the chat template contain the image token?)"
        )
    expanded = expand_image_tokens(ids, tokens_per_image, image_token_id=image_token_id)
    last_image = len(expanded) - 1 - expanded[::-1].index(image_token_id)
    return WindowInputs(expanded, last_image + 1, n_frames, tokens_per_image)


def build_window_inputs(
    tokenizer: Any,
    images: Sequence[Image.Image],
    question: str,
    *,
    tokens_per_image: int,
    image_processor: Any | None = None,
    use_image_start_end: bool = True,
    image_token_id: int = IMAGE_TOKEN_ID,
) -> WindowInputs:
    """Token ids and pixel values of one window, exactly as the official GenS code builds them."""
    inputs = build_window_ids(
        tokenizer,
        len(images),
        question,
        tokens_per_image=tokens_per_image,
        use_image_start_end=use_image_start_end,
        image_token_id=image_token_id,
    )
    inputs.pixel_values = preprocess_frames(images, image_processor)
    return inputs


def answer_text(decoded: str) -> str:
    """The answer in decoded model output: the text after the last ``assistant\\n`` up to ``<|im_end|>``."""
    return decoded.split("assistant\n")[-1].split("<|im_end|>")[0].strip()
