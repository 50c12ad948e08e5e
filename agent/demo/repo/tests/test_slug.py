from textkit import slugify


def test_words_are_joined_with_dashes():
    assert slugify("Hello World") == "hello-world"


def test_punctuation_and_runs_of_spaces_collapse():
    assert slugify("Hello,  World!") == "hello-world"


def test_custom_separator():
    assert slugify("a b", separator="_") == "a_b"
