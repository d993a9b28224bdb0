"""The runner's expressions against what GitHub documents for them."""

from __future__ import annotations

import pytest

from tests.workflow.expressions import Evaluator, ExpressionError, condition, interpolate

CELLS = '{"include": [{"cell": "a", "keys": {"inputs": "k"}}]}'
CONTEXTS = {
    "steps": {"qemu-cache": {"outputs": {"cache-hit": "true"}}, "miss": {"outputs": {}}},
    "needs": {"set-matrix": {"result": "success", "outputs": {"count": "0", "cells": CELLS}}},
    "matrix": {"cell": "6.1-mmu500", "keys": {"qemu": "qemu-1"}},
    "github": {"workspace": "/home/runner/work/r/r", "run_id": "7"},
    "inputs": {},
    "env": {"HISTORY_BRANCH": "nightly-history"},
}  # fmt: skip


def _ev(failed: bool = False) -> Evaluator:
    status = {"success": lambda: not failed, "failure": lambda: failed,
              "always": lambda: True, "cancelled": lambda: False}  # fmt: skip
    return Evaluator(CONTEXTS, status)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("steps.qemu-cache.outputs.cache-hit != 'true'", False),
        ("steps.miss.outputs.cache-hit != 'true'", True),  # a missing output is null
        ("steps.qemu-cache.outputs.cache-hit == 'TRUE'", True),  # strings ignore case
        ("needs.set-matrix.outputs.count != '0'", False),
        ("needs.set-matrix.outputs.count == 0", True),  # mixed types compare as numbers
        ("fromJSON(needs.set-matrix.outputs.cells).include[0].keys.inputs", "k"),
        ("matrix.keys.qemu", "qemu-1"),
        ("inputs.cell", None),
        ("steps.qemu-cache.outputs.cache-hit == 'true' && 'qemu' || ''", "qemu"),
        ("steps.miss.outputs.cache-hit == 'true' && 'qemu' || ''", ""),
        ("!startsWith(github.workspace, '/__w')", True),
        ("format('{0}-{1}', matrix.cell, github.run_id)", "6.1-mmu500-7"),
        ("contains(fromJSON('[\"a\", \"b\"]'), 'B')", True),
    ],
)
def test_values(text: str, value: object) -> None:
    assert _ev().evaluate(text) == value


def test_conditions_default_to_success_unless_they_name_a_status() -> None:
    assert condition("matrix.cell != ''", _ev()) is True
    assert condition("matrix.cell != ''", _ev(failed=True)) is False
    assert condition("${{ always() && matrix.cell != '' }}", _ev(failed=True)) is True
    assert condition("failure()", _ev(failed=True)) is True


def test_interpolation_and_errors() -> None:
    text = "${{ github.workspace }}/.rig-cache and ${{ env.HISTORY_BRANCH }}"
    assert interpolate(text, _ev()) == "/home/runner/work/r/r/.rig-cache and nightly-history"
    with pytest.raises(ExpressionError, match="unknown context"):
        _ev().evaluate("secret.token")
    with pytest.raises(ExpressionError, match="not emulated"):
        _ev().evaluate("hashFiles('x')")
