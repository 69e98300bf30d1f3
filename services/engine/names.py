"""Strings that many revisions repeat (instruments, announcement ids, horizons), held once
each and referred to by code, so that revisions are sent as arrays of codes: no list of strings
per batch, and each string is escaped for JSON once, when first seen."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import orjson

from services.engine.arrays import joined

I64 = npt.NDArray[np.int64]


class Interned:
    """Distinct strings by code (their order of arrival; a code never changes), each with the
    inside of its JSON string literal."""

    __slots__ = ("_codes", "_escaped", "texts")

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self.texts: list[str] = []
        self._codes: dict[str, int] = {}
        self._escaped: list[str] = []
        self.codes(texts)

    def __len__(self) -> int:
        return len(self.texts)

    def code(self, text: str) -> int:
        found = self._codes.get(text)
        if found is None:
            found = self._codes[text] = len(self.texts)
            self.texts.append(text)
            self._escaped.append(orjson.dumps(text).decode()[1:-1])
        return found

    def codes(self, texts: Iterable[str]) -> I64:
        """The code of each of `texts` (new ones added in order): each distinct text looked up
        once, as they repeat (an announcement's id on every window it opens)."""
        texts = list(texts)
        distinct = list(dict.fromkeys(texts))
        if len(distinct) == 1:
            return np.full(len(texts), self.code(distinct[0]), dtype=np.int64)
        code_of = {text: self.code(text) for text in distinct}
        return np.fromiter(map(code_of.__getitem__, texts), dtype=np.int64, count=len(texts))

    def escaped_texts(self) -> list[str]:
        """Each string's JSON text (without its quotes), by code (not to be changed)."""
        return self._escaped


class Coded:
    """A column of strings as codes into an `Interned` (which only grows, so the codes of a
    column made earlier stay valid)."""

    __slots__ = ("codes", "interned")

    def __init__(self, interned: Interned, codes: I64) -> None:
        self.interned = interned
        self.codes = codes

    @classmethod
    def of(cls, texts: Iterable[str]) -> Coded:
        """A column of its own strings."""
        interned = Interned()
        return cls(interned, interned.codes(texts))

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, rows: npt.NDArray[np.intp]) -> Coded:
        return Coded(self.interned, self.codes[rows])

    def tolist(self) -> list[str]:
        texts = self.interned.texts
        return [texts[code] for code in self.codes.tolist()]


def codes_of(columns: list[Coded]) -> I64:
    """The codes of columns of one `Interned`, one after the other."""
    return joined([c.codes for c in columns])
