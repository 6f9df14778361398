"""Sealed secrets: encrypted, authenticated, bound to the deployment's key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taydo.core.secrets import PREFIX, SecretBox, SecretUnreadable

BOX = SecretBox("deployment-key-one")


@given(st.text(max_size=300))
def test_what_is_sealed_opens_to_the_same_text(plain: str) -> None:
    sealed = BOX.seal(plain)
    assert sealed.startswith(PREFIX) and BOX.is_sealed(sealed)
    assert BOX.open(sealed) == plain
    if len(plain) >= 8:  # a shorter text could turn up in random base64 by chance
        assert plain not in sealed[len(PREFIX) :]


def test_sealing_twice_gives_different_texts() -> None:
    url = "postgresql://so_tnmt:Mật-khẩu@10.0.0.5/quantrac"
    first, second = BOX.seal(url), BOX.seal(url)
    assert first != second and BOX.open(first) == BOX.open(second) == url


def test_another_key_or_a_changed_byte_cannot_open_it() -> None:
    sealed = BOX.seal("Bearer token")
    with pytest.raises(SecretUnreadable, match="TAYDO_SECRET_KEY"):
        SecretBox("deployment-key-two").open(sealed)
    middle = len(sealed) // 2
    changed = sealed[:middle] + ("x" if sealed[middle] != "x" else "y") + sealed[middle + 1 :]
    with pytest.raises(SecretUnreadable):
        BOX.open(changed)
    with pytest.raises(SecretUnreadable):
        BOX.open(PREFIX + "not base64 at all !")


def test_a_value_stored_before_sealing_is_read_as_it_is() -> None:
    assert BOX.open("Bearer legacy") == "Bearer legacy"
    assert not BOX.is_sealed("Bearer legacy")
