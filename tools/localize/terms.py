"""Words for lexical retrieval: identifiers split into their parts, common words dropped.

Code and issue text go through the same `text_terms`: identifiers are split at underscores,
camelCase humps and digits and lower-cased ("parseHTTPHeader_v2" -> "parse", "http",
"header"), so an issue saying "query set" or `get_queryset` meets code saying `QuerySet`.
English function words and the keywords every file shares are dropped: they say nothing
about where a bug is and would make every look-up slow. Whole identifiers are matched by
the definition-name signal (see rank.py), not here.
"""

from __future__ import annotations

import re
from collections import Counter

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Parts of identifiers, found in running text without first cutting it into words (one
# regular expression over a whole file is what keeps indexing fast): lower-case runs,
# capitalised words, and runs of capitals ("HTTP" in "HTTPServer"). One-letter parts and
# digits are not terms.
_PART = re.compile(r"[a-z]{2,}|[A-Z][a-z]+|[A-Z]{2,}(?![a-z])")

_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing done down during each either
else few for from further had has have having he her here hers him his how however i if in
into is it its itself just let like may me might more most must my no nor not now of off on
once only or other our out over own same she should so some such than that the their them
then there these they this those through to too under until up very was we were what when
where which while who whom why will with would yet you your
def self cls return none true false pass elif import class lambda yield raise try except
finally assert del global nonlocal async await var const null undefined
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def text_terms(text: str) -> Counter[str]:
    """Term frequencies of `text` (code or prose)."""
    counts = Counter(map(str.lower, _PART.findall(text)))
    for word in STOPWORDS & counts.keys():
        counts.pop(word)  # dict's own pop: Counter's __delitem__ is slow Python
    return counts


def split_word(word: str) -> list[str]:
    """The terms of one identifier ("get_FOO_display" -> "get", "foo", "display")."""
    return list(text_terms(word))
