"""Every row of the bad-input table (``docs/bad-input.md``): a clear error that names the argument, or a result."""

import re

import pytest
from bad_inputs import CASES, outcome


@pytest.mark.parametrize(("entry", "what", "lsq_call", "scipy_call", "error", "names"), CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_bad_input_row(entry, what, lsq_call, scipy_call, error, names):
    kind, text = outcome(lsq_call)
    if error is None:
        assert kind is None, text
    else:
        assert kind is error, text
        assert re.search(names, text), text


def test_the_table_has_every_case_and_enough_of_them():
    from pathlib import Path

    page = (Path(__file__).parents[1] / "docs" / "bad-input.md").read_text()
    assert len(CASES) >= 30
    for _, what, *_ in CASES:
        assert f"| {what} |" in page
