from textstats import words


def test_words_in_order():
    assert words("The cat sat.") == ["The", "cat", "sat"]


def test_contractions_stay_whole():
    assert words("Don't stop") == ["Don't", "stop"]


def test_blank_text_has_no_words():
    assert words("  \n") == []
