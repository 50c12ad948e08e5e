from textstats import top_words, word_counts


def test_counts_each_word():
    assert word_counts("a b a")["a"] == 2


def test_most_frequent_first():
    assert top_words("b a b c b a", n=2) == [("b", 3), ("a", 2)]


def test_ties_are_alphabetical():
    assert top_words("y x z", n=3) == [("x", 1), ("y", 1), ("z", 1)]
