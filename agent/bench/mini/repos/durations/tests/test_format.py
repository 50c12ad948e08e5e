from durations import format_duration, parse_duration


def test_hours_minutes_seconds():
    assert format_duration(3723) == "1h2m3s"


def test_zero():
    assert format_duration(0) == "0s"


def test_round_trip():
    for seconds in (1, 59, 60, 3599, 3600, 86399):
        assert parse_duration(format_duration(seconds)) == seconds
