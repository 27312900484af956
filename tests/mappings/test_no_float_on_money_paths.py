"""No float on a money path: an AST scan of mappings/, connectors/ and reconciliation/ for float literals
and float() calls. Anything non-monetary (timeouts, back-off seconds) is allowed explicitly, with a reason."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("mappings", "connectors", "reconciliation")

# (file, enclosing function or "<module>") -> why a float there is not money (beyond DURATION_NAME).
ALLOWED = {
    ("connectors/retry.py", "retry_after_seconds"): "float(Retry-After header): seconds to wait",
    ("connectors/salesforce_limits.py", "<module>"): "DEFAULT_QUOTA_RESERVE: a share of the API quota",
    ("connectors/salesforce_limits.py", "reserve_fraction_from_env"): "the quota reserve share from the environment",
    ("connectors/retry.py", "retry_wait"): "seconds to wait before a retry",
}

# Whole modules that handle no money at all -> what their floats are.
NON_MONEY_MODULES = {
    "connectors/adaptive_rate.py": "requests per second and clock times of the adaptive pace",
    "connectors/concurrency.py": "latencies and the limit of requests in flight",
}


# A float bound to a name that says it is a duration is not money (a rule, so a new retry delay in a
# connector does not need a list entry; a name like "amount" or "price" never matches).
DURATION_NAME = re.compile(r"(wait|seconds|timeout|backoff|delay|interval)", re.IGNORECASE)


def _named_durations(tree: ast.AST) -> set[int]:
    """ids of the float constants passed or assigned to a duration-named keyword, parameter or variable."""
    named: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg and DURATION_NAME.search(node.arg):
            named.append(node.value)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            positional = node.args.posonlyargs + node.args.args
            pairs = list(zip(positional[len(positional) - len(node.args.defaults):], node.args.defaults, strict=True))
            pairs += [(a, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True) if d]
            named += [default for arg, default in pairs if DURATION_NAME.search(arg.arg)]
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value and any(isinstance(t, ast.Name) and DURATION_NAME.search(t.id) for t in targets):
                named.append(node.value)
    return {id(const) for value in named for const in ast.walk(value) if isinstance(const, ast.Constant)}


def _float_uses(tree: ast.AST) -> list[tuple[str, int, str]]:
    found: list[tuple[str, int, str]] = []
    durations = _named_durations(tree)

    def visit(node: ast.AST, scope: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            scope = node.name
        if isinstance(node, ast.Constant) and isinstance(node.value, float) and id(node) not in durations:
            found.append((scope, node.lineno, f"float literal {node.value!r}"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
            found.append((scope, node.lineno, "float() call"))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(tree, "<module>")
    return found


def test_no_float_outside_the_allow_list():
    """Input: every .py under mappings/, connectors/, reconciliation/; expect no float literal or float()
    call except the listed non-monetary ones (and mappings/ has none at all)."""
    offenders = []
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            for scope, line, what in _float_uses(ast.parse(path.read_text(), filename=relative)):
                if folder == "mappings" or ((relative, scope) not in ALLOWED and relative not in NON_MONEY_MODULES):
                    offenders.append(f"{relative}:{line} in {scope}: {what}")
    assert offenders == []


def test_scanner_catches_float_money_and_spares_durations():
    """Input: a snippet that converts cents with float() and a 0.01 literal, a price default of 9.99, and
    duration-named floats (timeout=30.0, initial_wait default 0.5); expect only the money ones found."""
    tree = ast.parse(
        "TIMEOUT_SECONDS = 30.0\n"
        "def to_major(cents, price=9.99, initial_wait=0.5):\n"
        "    call(timeout=30.0)\n"
        "    return float(cents) * 0.01\n"
    )
    assert [what for _, _, what in _float_uses(tree)] == ["float literal 9.99", "float() call", "float literal 0.01"]
