import pytest
from durations import parse_duration


def test_hours_and_minutes():
    assert parse_duration("1h30m") == 5400


def test_spaces_and_case_do_not_matter():
    assert parse_duration(" 2H 5s ") == 7205


def test_empty_text_is_an_error():
    with pytest.raises(ValueError):
        parse_duration("")
