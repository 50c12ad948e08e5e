import pytest
from textstats import reading_time


def test_rounds_up_to_whole_minutes():
    assert reading_time("word " * 201) == 2


def test_no_words_no_time():
    assert reading_time("") == 0


def test_rejects_a_speed_that_is_not_positive():
    with pytest.raises(ValueError):
        reading_time("a", wpm=0)
