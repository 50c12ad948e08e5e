"""Choosing among validated candidates: normalization, majority vote and the tie-break."""

from __future__ import annotations

from patchsmith.agent.pipeline.select import fingerprint, normalize, select

CORRECT = (
    "def apply_discount(price, percent):\n"
    '    """Discounted price."""\n'
    "    return price - price * percent / 100\n"
)
SAME_REFORMATTED = (
    "def apply_discount(price,percent):\n"
    '    """Price after `percent` per cent off (now documented differently)."""\n'
    "    # percent is in per cent, not a fraction\n"
    "    return price - (price*percent) / 100\n"
)
DIFFERENT = CORRECT.replace("price - price * percent / 100", "price * (100 - percent) / 100")


def test_python_files_differing_in_layout_comments_and_docstrings_normalize_the_same():
    assert normalize("shop/pricing.py", CORRECT) == normalize("shop/pricing.py", SAME_REFORMATTED)
    assert normalize("shop/pricing.py", CORRECT) != normalize("shop/pricing.py", DIFFERENT)


def test_a_function_that_is_only_a_docstring_still_normalizes():
    only_doc = 'def f():\n    """Nothing yet."""\n'
    assert normalize("a.py", only_doc) == normalize("a.py", "def f():\n    pass\n")


def test_other_files_ignore_indentation_blank_lines_and_line_comments():
    one = "function f(a) {\n  return a + 1;\n}\n"
    two = "// add one\nfunction f(a) {\n\n    return  a + 1;\n}\n"
    assert normalize("f.js", one) == normalize("f.js", two)
    assert normalize("f.js", one) != normalize("f.js", one.replace("+ 1", "+ 2"))


def test_python_that_does_not_parse_is_compared_by_its_text():
    assert normalize("a.py", "def f(:\n  x\n") == normalize("a.py", "def f(:\n    x\n")


def test_the_fingerprint_covers_every_edited_file():
    assert fingerprint({"a.py": CORRECT}) == fingerprint({"a.py": SAME_REFORMATTED})
    assert fingerprint({"a.py": CORRECT}) != fingerprint({"a.py": CORRECT, "b.py": "x = 1\n"})
    assert fingerprint({"a.py": CORRECT}) != fingerprint({"a.py": None})


def candidate(index, after, changed_lines=2, valid=True, failed=None):
    return {
        "index": index,
        "valid": valid,
        "failed": failed,
        "reason": "",
        "diff": f"diff of candidate {index}\n",
        "changed_lines": changed_lines,
        "after": {"shop/pricing.py": after},
    }


def test_the_majority_wins_over_the_greedy_candidate_and_its_smallest_member_is_the_patch():
    chosen = select(
        {
            "candidates": [
                candidate(0, DIFFERENT),
                candidate(1, SAME_REFORMATTED, changed_lines=4),
                candidate(2, CORRECT, changed_lines=2),
            ]
        }
    )
    assert chosen["winner"] == 2
    assert chosen["patch"] == "diff of candidate 2\n"
    assert [(g["votes"], g["members"]) for g in chosen["groups"]] == [(2, [1, 2]), (1, [0])]
    assert "2 of 3 valid candidates" in chosen["reason"]


def test_invalid_candidates_do_not_vote():
    chosen = select(
        {
            "candidates": [
                candidate(0, DIFFERENT),
                candidate(1, CORRECT, valid=False, failed="reproduction"),
                candidate(2, CORRECT, valid=False, failed="regression"),
            ]
        }
    )
    assert chosen["winner"] == 0


def test_a_tie_goes_to_fewer_changed_lines_then_to_the_earlier_candidate():
    fewer = select({"candidates": [candidate(0, DIFFERENT, 6), candidate(1, CORRECT, 2)]})
    assert fewer["winner"] == 1
    earlier = select({"candidates": [candidate(0, DIFFERENT, 2), candidate(1, CORRECT, 2)]})
    assert earlier["winner"] == 0


def test_when_every_candidate_failed_there_is_no_winner_and_the_reason_lists_why():
    chosen = select(
        {
            "candidates": [
                candidate(0, CORRECT, valid=False, failed="reproduction"),
                candidate(1, CORRECT, valid=False, failed="syntax"),
            ]
        }
    )
    assert chosen["winner"] is None
    assert chosen["patch"] == ""
    assert chosen["reason"] == "all 2 candidates failed validation (0: reproduction; 1: syntax)"
    assert select({"candidates": []})["reason"] == "no candidate patch was made"


def unverified(index, after, changed_lines=2):
    return {**candidate(index, after, changed_lines, valid=False), "verdict": "unverified"}


def test_a_valid_candidate_beats_more_votes_for_unverified_ones():
    chosen = select(
        {
            "candidates": [
                unverified(0, CORRECT),
                unverified(1, SAME_REFORMATTED),
                {**candidate(2, DIFFERENT), "verdict": "valid"},
            ]
        }
    )
    assert (chosen["winner"], chosen["verdict"]) == (2, "valid")


def test_with_no_valid_candidate_the_unverified_ones_vote_and_the_choice_says_unverified():
    chosen = select(
        {
            "candidates": [
                unverified(0, DIFFERENT),
                unverified(1, CORRECT),
                unverified(2, SAME_REFORMATTED, changed_lines=4),
                candidate(3, CORRECT, valid=False, failed="syntax"),
            ]
        }
    )
    assert (chosen["winner"], chosen["verdict"]) == (1, "unverified")
    assert chosen["reason"].startswith("unverified, candidate 1 chosen: 2 of 3 unverified")
