"""A message stored in both languages ("Tiếng Việt / English") shown in the page's."""

from __future__ import annotations

from taydo.web.words import said


def test_a_message_in_both_languages_is_shown_in_the_page_s() -> None:
    both = "chưa tính / not computed yet"
    assert said(both, "vi") == "chưa tính"
    assert said(both, "en") == "not computed yet"


def test_a_message_without_exactly_one_separator_is_shown_whole() -> None:
    assert said("Giá lúa hằng ngày", "en") == "Giá lúa hằng ngày"
    # a name may hold the separator itself: nothing is cut
    several = "thiếu a / b hoặc c / missing a / b or c"
    assert said(several, "vi") == several
    assert said("", "vi") == "" and said(None, "en") == ""
