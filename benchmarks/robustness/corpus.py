"""Seeded corpora of hostile and malformed input: formulas and JSON import files.

``formulas(seed, n)`` mixes valid formulas of every operator with malformed ones: deep and long
nesting, unknown names, code-injection text (each carrying the ``CANARY`` marker so any execution
would show), unicode tricks, control characters and terminal escapes, numbers outside float32,
operand-free formulas, broken punctuation. ``json_files(seed, n)`` builds import files: broken
syntax, deep nesting, huge or non-finite numbers, duplicate keys, wrong types, bad tags, hash
mismatches, dangling references, oversized names and files, hostile names.
"""
from __future__ import annotations

import json
import random

CANARY = "PWNED_CANARY"
OPS1 = ("neg", "abs", "sqr", "sqrt", "log", "exp", "tanh", "mms", "zsn", "colsum", "rowsum")
OPS2 = ("add", "sub", "mul", "div", "sdiv")
OPERANDS = ("W", "G", "X", "Xs", "Hd", "Y")
INJECTIONS = (
    f"__import__('os').system('touch {CANARY}')", f"eval(\"open('{CANARY}','w')\")", f"exec('import os')#{CANARY}",
    f"lambda: open('{CANARY}', 'w')", f"W; import os; os.system('touch {CANARY}')", f"{{0.__class__}}{CANARY}",
    f"mul(W, __builtins__)#{CANARY}", f"W'); DROP TABLE metrics;-- {CANARY}", f"$(touch {CANARY})", f"`touch {CANARY}`",
    f"Symbol('{CANARY}')", f"sympify('{CANARY}')", f"mul(W, X).__class__.__mro__[1].__subclasses__()#{CANARY}",
    f"abs(W)\n__import__('os').system('touch {CANARY}')", f"pow(W, __import__('os').getpid())#{CANARY}",
)
NASTY_TEXT = ("\x1b[2J", "[bold red]x[/]", "\u202e", "\u200b", "\x00", "\ufeff", "Ｗ", "W\u0301", "\ud800", "\r\n", "\t",
              "😀", "ß", "\x7f", "%s%n", "{}", "\\", "'", '"', ";", "#", "--")
NUMBERS = ("1e309", "1e39", "3e38", "1e-46", "2e-45", "-1", "nan", "inf", "0x10", "1_000", "9" * 400, "0.5", "1e12",
           "0", ".5", "5.", "1e", "e5", "1.2.3", "+2")


def random_formula(rng: random.Random, depth: int) -> str:
    """A well-formed formula (it may still be refused: operand-free, constants out of range)."""
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice(OPERANDS) if rng.random() < 0.85 else rng.choice(NUMBERS[:12])
    if rng.random() < 0.1:
        return f"pow({random_formula(rng, depth - 1)}, {rng.choice(('2', '4', '0.5', '-1', '0', 'W'))})"
    if rng.random() < 0.5:
        return f"{rng.choice(OPS1)}({random_formula(rng, depth - 1)})"
    return f"{rng.choice(OPS2)}({random_formula(rng, depth - 1)}, {random_formula(rng, depth - 1)})"


def _mangle(rng: random.Random, text: str) -> str:
    """One random corruption of a formula."""
    pos = rng.randrange(len(text) + 1)
    kind = rng.randrange(7)
    if kind == 0:
        return text[:pos] + rng.choice(NASTY_TEXT) + text[pos:]
    if kind == 1:
        return text[:pos]  # truncated
    if kind == 2:
        return text + rng.choice((")", "(", ",", ", W", " W", "))"))
    if kind == 3:
        return text.replace(rng.choice(OPERANDS), rng.choice(("Q", "w", "W2", "_", "X_s", "os")), 1)
    if kind == 4:
        return text.replace("(", rng.choice(("((", "[", " ( ")), 1)
    if kind == 5:
        return text.replace(rng.choice(OPS1 + OPS2), rng.choice(("foo", "eval", "exec", "open", "Abs", "")), 1)
    return text[:pos] + rng.choice(NUMBERS) + text[pos:]


def formulas(seed: int = 0, n: int = 1200) -> list[tuple[str, str]]:
    """(category, text) pairs, seeded."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = [("injection", t) for t in INJECTIONS]
    out += [("deep", "abs(" * d + "W" + ")" * d) for d in (63, 64, 65, 100, 1_000, 10_000, 100_000)]
    out += [("deep-unbalanced", "sqr(" * d + "W") for d in (10, 1_000, 50_000)]
    out += [("long", "add(" + ", ".join(["W"] * 2) + ")" + " " * n_) for n_ in (19_990, 20_001, 1_000_000)]
    out += [("long", "mul(W, " + "1" * k + ")") for k in (38, 39, 300, 25_000)]
    out += [("number", f"mul(W, {num})") for num in NUMBERS]
    out += [("no-operand", t) for t in ("log(0)", "9", "add(1, 2)", "exp(mul(3, 4))", "pow(2, 2)", "0")]
    out += [("empty", t) for t in ("", " ", "\n", "()", "(", ")", ",", "W,", "mul", "mul()")]
    out += [("nasty-text", t + "W") for t in NASTY_TEXT] + [("nasty-text", "abs(" + t + ")") for t in NASTY_TEXT]
    while len(out) < n:
        text = random_formula(rng, rng.randint(1, 7))
        roll = rng.random()
        if roll < 0.35:
            out.append(("random-valid-shape", text))
        elif roll < 0.85:
            out.append(("mangled", _mangle(rng, text)))
        else:
            out.append(("injection-mix", _mangle(rng, text) + rng.choice(INJECTIONS)))
    return out[:n] if len(out) > n else out


def _dump(entries: dict) -> str:
    return json.dumps(entries)


def json_files(seed: int = 0, n: int = 120) -> list[tuple[str, bytes]]:
    """(category, file bytes) pairs of malformed import files, seeded."""
    from primitives.metric import Metric

    rng = random.Random(seed)
    good = json.loads(Metric.parse("mul(abs(W), X)", name="imported").to_json())
    reg = {"format": "metricforge.registry/1", "metrics": [
        {"id": 1, "hash": good["hash"], "canonical": good["canonical"], "text": good["text"], "rank_hash": good["hash"],
         "operands": "W,X", "complexity": 4, "name": "imported", "created_at": "2026-01-01T00:00:00+00:00"}],
        "runs": [], "evaluations": [], "lineage": []}
    files: list[tuple[str, bytes]] = []
    add = lambda cat, text: files.append((cat, text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")))  # noqa: E731
    for depth in (81, 200, 10_000, 200_000):
        add("deep", "[" * depth + "]" * depth)
        add("deep", '{"format": "metricforge.metric/1", "text": "W", "tree": ' + '{"op": "abs", "args": [' * depth + '"W"' + "]}" * depth + "}")
    for num in ("1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" * 5000, "1e-400", "9223372036854775808"):
        add("number", _dump({**good, "tree": "PLACEHOLDER"}).replace('"PLACEHOLDER"', num))
        add("number", _dump({**reg, "evaluations": ["PLACEHOLDER"]}).replace('"PLACEHOLDER"', num))
    add("duplicate-key", '{"format": "metricforge.metric/1", "format": "metricforge.metric/1", "text": "W"}')
    add("duplicate-key", '{"format": "metricforge.metric/1", "text": "W", "text": "abs(W)"}')
    for tag in (None, "", "metricforge.metric/2", "metricforge.registry/0", 1, [], {"x": 1}, "\x1b[2J"):
        add("format-tag", _dump({**good, "format": tag}))
    for field, value in (("text", 1), ("text", None), ("text", ["W"]), ("name", 5), ("name", "x" * 129),
                         ("name", "bad\x1b[2Jname"), ("name", "[bold red]x\x00"), ("name", "deadbeef"),
                         ("hash", "0" * 16), ("canonical", "W"), ("text", "log(0)"), ("text", "mul(W, 1e309)"),
                         ("text", f"__import__('os').system('touch {CANARY}')"), ("tree", {"op": "system", "args": ["W"]}),
                         ("tree", {"op": "abs", "args": ["W"], "extra": 1}), ("tree", True), ("tree", -1),
                         ("name", "n" * 200_000), ("text", "abs(" * 70 + "W" + ")" * 70)):
        add("metric-field", _dump({**good, field: value}))
    sections = ("metrics", "runs", "evaluations", "lineage")
    for section in sections:
        for value in (None, {}, "x", 1, [1], [None], [[]]):
            add("registry-section", _dump({**reg, section: value}))
    for field, value in (("id", "1"), ("hash", "zz"), ("complexity", "4"), ("created_at", "yesterday"),
                         ("created_at", 5), ("name", "imported\u202e"), ("text", "Q")):
        add("registry-metric", _dump({**reg, "metrics": [{**reg["metrics"][0], field: value}]}))
    add("registry-dup", _dump({**reg, "metrics": reg["metrics"] * 2}))
    evaluation = {"id": 1, "metric": good["hash"], "run_id": None, "task": "t", "model": None, "dataset": None,
                  "sparsity": 0.5, "granularity": None, "budget": None, "settings": '{"task":"t"}',
                  "settings_key": "0" * 16, "score": 1.0, "ok": True, "reason": None, "wall_s": 0.1, "device": None,
                  "versions": "{}", "created_at": "2026-01-01T00:00:00+00:00"}
    for field, value in (("metric", "ffffffffffffffff"), ("run_id", "ghost"), ("settings", "not json"),
                         ("settings", "[1]"), ("score", "high"), ("ok", 1), ("settings_key", "0" * 16),
                         ("settings", '{"task": "' + "x" * 70_000 + '"}'), ("reason", "r" * 3000)):
        add("registry-evaluation", _dump({**reg, "evaluations": [{**evaluation, field: value}]}))
    add("registry-lineage", _dump({**reg, "lineage": [{"id": 1, "child": "f" * 16, "parent": None, "operator": "x",
                                                       "run_id": None, "generation": 0}]}))
    for blob in (b"", b"\x00" * 64, b"\xff\xfe{}", b"\xef\xbb\xbf{}", b"mul(abs(W), X)\n", b"PK\x03\x04zipfile",
                 b"\x80\x04\x95pickle.", b"<xml/>", b"---\nyaml: 1\n", b"null", b"[]", b"1", b'"W"', b"{"):
        add("not-an-export", blob)
    add("oversize", b'{"format": "metricforge.metric/1", "text": "W", "pad": "' + b"x" * (16 * 1024 * 1024) + b'"}')
    text = _dump(good)
    while len(files) < n:  # random byte-level corruption of a valid export
        pos = rng.randrange(len(text))
        cut = rng.choice((text[:pos], text[:pos] + rng.choice(("}", "]", ",", '"', "\\", "\x00")) + text[pos:],
                          text.replace(rng.choice(('"W"', '"X"', '"abs"', '"mul"')), rng.choice(('"Q"', "1e999", "null", '"eval"')), 1)))
        add("corrupted", cut)
    return files
