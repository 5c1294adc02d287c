"""Reading the chosen option's letter out of an assistant's free-text answer.

Assistants are asked for the letter alone, but answer "B", "(B) red", "**B**", "The answer is B.", "Answer:
(C)" or only the option's text, often after a sentence that starts with the article "A". The rules, in
order (the first that finds a letter wins):

1. the whole answer is a letter (``B``, ``(B)``, ``B.``);
2. the answer starts with a letter and a delimiter (``B. red``, ``(B) red``, ``B) red``, ``B: red``);
3. the last "answer / option / choice [is] [:] X" phrase;
4. exactly one distinct letter in parentheses or brackets anywhere (``… so (C).``);
5. exactly one option's text appears in the answer (whole words, any case).

Letters past the item's options never count. ``None`` means the answer named no option (scored as wrong).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gens_tools.eval._items import LETTERS

_MARKUP = re.compile(r"[*_`]+")
_WHOLE = re.compile(r"[\(\[]?([A-Z])[\)\]]?[.:]?")
_LEADING = re.compile(r"^[\(\[]?([A-Z])(?:[\)\]][.:]?|[.:])(?:\s|$)")
_PHRASE = re.compile(r"\b(?i:answer|option|choice)\b(?:\s+(?i:is))?\s*[:\-]?\s*[\(\[]?([A-Z])\b(?![’'])")
_BRACKETED = re.compile(r"[\(\[]([A-Z])[\)\]]")


def parse_choice(text: str, options: Sequence[str]) -> str | None:
    """The option letter an answer chose, or ``None`` (see the module docstring for the rules)."""
    valid = set(LETTERS[: len(options)])
    cleaned = _MARKUP.sub("", text or "").strip()
    if not cleaned:
        return None
    m = _WHOLE.fullmatch(cleaned)
    if m and m.group(1) in valid:
        return m.group(1)
    m = _LEADING.match(cleaned)
    if m and m.group(1) in valid:
        return m.group(1)
    phrases = [g for g in _PHRASE.findall(cleaned) if g in valid]
    if phrases:
        return str(phrases[-1])
    bracketed = {g for g in _BRACKETED.findall(cleaned) if g in valid}
    if len(bracketed) == 1:
        return str(bracketed.pop())
    return _by_option_text(cleaned, options)


def _by_option_text(text: str, options: Sequence[str]) -> str | None:
    lowered = text.lower()
    found = [
        i
        for i, option in enumerate(options)
        if option.strip() and re.search(r"(?<!\w)" + re.escape(option.strip().lower()) + r"(?!\w)", lowered)
    ]
    # An option that is part of another one found ("red" inside "dark red") does not count on its own.
    found = [
        i for i in found if not any(j != i and options[i].strip().lower() in options[j].strip().lower() for j in found)
    ]
    return LETTERS[found[0]] if len(found) == 1 else None
