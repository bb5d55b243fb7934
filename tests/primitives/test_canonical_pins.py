"""Pinned canonical forms and hashes: the registry's identity of a metric.

A metric's ``hash`` is the key of every stored evaluation, so a change to the simplification
rules, the sympy form or the text printer that moves any row below orphans registry entries.
Such a change needs a registry migration (docs/architecture.md), and this table is updated with
it. Rows: every built-in, then formulas that exercise each simplification rule (opposing
operations, sympy's canonical algebra, the ranking invariances).
"""
from __future__ import annotations

import hashlib

import pytest

from primitives.builtins import BUILTINS, builtin
from primitives.grammar import MetricSyntaxError
from primitives.metric import Metric

# (formula as written, canonical text, hash, ranking form, rank_hash)
PINNED: list[tuple[str, str, str, str, str]] = [
    ('abs(W)', 'abs(W)', '81e184eb5c56fcd3', 'abs(W)', '81e184eb5c56fcd3'),
    ('mul(abs(W), X)', 'mul(X, abs(W))', '727474eb44ded456', 'mul(X, abs(W))', '727474eb44ded456'),
    ('mul(add(sdiv(abs(W), colsum(abs(W))), sdiv(abs(W), rowsum(abs(W)))), sqrt(X))', 'mul(add(sdiv(abs(W), colsum(abs(W))), sdiv(abs(W), rowsum(abs(W)))), sqrt(X))', '492eee1eacd78546', 'mul(add(sdiv(abs(W), colsum(abs(W))), sdiv(abs(W), rowsum(abs(W)))), sqrt(X))', '492eee1eacd78546'),
    ('add(mul(abs(W), X), mul(abs(W), abs(G)))', 'add(mul(G, abs(W)), mul(X, abs(W)))', 'd50b0efccd90608f', 'add(mul(G, abs(W)), mul(X, abs(W)))', 'd50b0efccd90608f'),
    ('mul(sqr(W), mms(G))', 'mul(mms(G), sqr(W))', '19dcee2f5b91f9aa', 'mul(abs(W), sqrt(mms(G)))', '91f45bac2a7b6a38'),
    ('sdiv(sqr(W), sqr(Hd))', 'sdiv(sqr(W), sqr(Hd))', '26d706040ff38d0e', 'sdiv(sqr(W), sqr(Hd))', '26d706040ff38d0e'),
    ('neg(neg(W))', 'W', 'fcb5f40df9be6bae', 'W', 'fcb5f40df9be6bae'),
    ('abs(abs(W))', 'abs(W)', '81e184eb5c56fcd3', 'abs(W)', '81e184eb5c56fcd3'),
    ('mms(mms(W))', 'mms(W)', '73621d9ccdbc9e45', 'W', 'fcb5f40df9be6bae'),
    ('zsn(zsn(X))', 'zsn(X)', '6c2d28a04dbf0719', 'X', '4b68ab3847feda7d'),
    ('mms(zsn(W))', 'mms(W)', '73621d9ccdbc9e45', 'W', 'fcb5f40df9be6bae'),
    ('zsn(mms(G))', 'zsn(G)', '87f89e8ea28c7272', 'G', '333e0a1e27815d0c'),
    ('sqrt(sqr(W))', 'abs(W)', '81e184eb5c56fcd3', 'abs(W)', '81e184eb5c56fcd3'),
    ('sqr(sqrt(W))', 'abs(W)', '81e184eb5c56fcd3', 'abs(W)', '81e184eb5c56fcd3'),
    ('exp(log(W))', 'add(0.001, abs(W))', '5594336d48119994', 'abs(W)', '81e184eb5c56fcd3'),
    ('abs(sqr(G))', 'sqr(G)', '3a94d1a246444ec1', 'G', '333e0a1e27815d0c'),
    ('abs(sqrt(W))', 'sqrt(W)', 'dd6e9770b49254ca', 'abs(W)', '81e184eb5c56fcd3'),
    ('abs(exp(W))', 'exp(W)', 'd1aba670e3d57f9c', 'W', 'fcb5f40df9be6bae'),
    ('abs(mms(W))', 'mms(W)', '73621d9ccdbc9e45', 'W', 'fcb5f40df9be6bae'),
    ('abs(neg(W))', 'abs(W)', '81e184eb5c56fcd3', 'abs(W)', '81e184eb5c56fcd3'),
    ('sqr(neg(W))', 'sqr(W)', '7a762a1e39984e44', 'abs(W)', '81e184eb5c56fcd3'),
    ('sqrt(neg(X))', 'sqrt(X)', 'eff3820356b21f11', 'X', '4b68ab3847feda7d'),
    ('log(neg(W))', 'log(W)', '3b9d973eff11b4a7', 'abs(W)', '81e184eb5c56fcd3'),
    ('sqr(abs(W))', 'sqr(W)', '7a762a1e39984e44', 'abs(W)', '81e184eb5c56fcd3'),
    ('sqrt(abs(G))', 'sqrt(G)', '9f787b550f8700e1', 'G', '333e0a1e27815d0c'),
    ('log(abs(W))', 'log(W)', '3b9d973eff11b4a7', 'abs(W)', '81e184eb5c56fcd3'),
    ('mul(X, neg(neg(abs(W))))', 'mul(X, abs(W))', '727474eb44ded456', 'mul(X, abs(W))', '727474eb44ded456'),
    ('mul(X, abs(W))', 'mul(X, abs(W))', '727474eb44ded456', 'mul(X, abs(W))', '727474eb44ded456'),
    ('add(G, W)', 'add(G, W)', '30ca76aa0ee1dc4e', 'add(G, W)', '30ca76aa0ee1dc4e'),
    ('add(W, G)', 'add(G, W)', '30ca76aa0ee1dc4e', 'add(G, W)', '30ca76aa0ee1dc4e'),
    ('sub(W, W)', '0', '5feceb66ffc86f38', '0', '5feceb66ffc86f38'),
    ('add(W, W)', 'mul(2, W)', '8b392135bc1d7f02', 'W', 'fcb5f40df9be6bae'),
    ('mul(W, W)', 'sqr(W)', '7a762a1e39984e44', 'abs(W)', '81e184eb5c56fcd3'),
    ('sdiv(W, W)', 'sdiv(W, W)', 'c4a935df03c9bdc8', 'sdiv(W, W)', 'c4a935df03c9bdc8'),
    ('sub(W, neg(G))', 'add(G, W)', '30ca76aa0ee1dc4e', 'add(G, W)', '30ca76aa0ee1dc4e'),
    ('add(mul(2, W), mul(3, W))', 'mul(5, W)', 'e3fb995c3328b8e3', 'W', 'fcb5f40df9be6bae'),
    ('mul(0.5, mul(4, W))', 'mul(2, W)', '8b392135bc1d7f02', 'W', 'fcb5f40df9be6bae'),
    ('neg(sub(G, W))', 'sub(W, G)', '85e6a8a74a9d1506', 'sub(W, G)', '85e6a8a74a9d1506'),
    ('abs(mul(W, W))', 'sqr(W)', '7a762a1e39984e44', 'abs(W)', '81e184eb5c56fcd3'),
    ('add(abs(W), abs(W))', 'mul(2, abs(W))', 'c2832b3460619ed9', 'abs(W)', '81e184eb5c56fcd3'),
    ('mul(abs(W), abs(G))', 'mul(G, abs(W))', 'afb0fc0d419b8c36', 'mul(G, abs(W))', 'afb0fc0d419b8c36'),
    ('sdiv(abs(W), sqrt(X))', 'sdiv(abs(W), sqrt(X))', 'f203f3d4c3941e21', 'sdiv(abs(W), sqrt(X))', 'f203f3d4c3941e21'),
    ('pow(W, 2)', 'sqr(W)', '7a762a1e39984e44', 'abs(W)', '81e184eb5c56fcd3'),
    ('pow(abs(W), 0.5)', 'sqrt(W)', 'dd6e9770b49254ca', 'abs(W)', '81e184eb5c56fcd3'),
    ('div(W, G)', 'div(W, G)', 'ed794ad7d44f5947', 'W', 'fcb5f40df9be6bae'),
    ('colsum(abs(W))', 'colsum(abs(W))', '90679d7f170ef28d', 'colsum(abs(W))', '90679d7f170ef28d'),
    ('rowsum(sqr(W))', 'rowsum(sqr(W))', 'da071938f7deee3d', 'rowsum(sqr(W))', 'da071938f7deee3d'),
    ('mul(tanh(W), Y)', 'mul(Y, tanh(W))', '1977f6b8409313a6', 'mul(Y, tanh(W))', '1977f6b8409313a6'),
    ('add(Hd, Xs)', 'add(Hd, Xs)', '32e6752d036daea5', 'add(Hd, Xs)', '32e6752d036daea5'),
    ('mul(abs(W), sqrt(Xs))', 'mul(abs(W), sqrt(Xs))', '4b43868dedfd6f84', 'mul(abs(W), sqrt(Xs))', '4b43868dedfd6f84'),
    ('sdiv(sqr(W), Hd)', 'sdiv(sqr(W), Hd)', 'd7c18ec44ff56fcf', 'sdiv(sqr(W), Hd)', 'd7c18ec44ff56fcf'),
    ('mul(2, abs(W))', 'mul(2, abs(W))', 'c2832b3460619ed9', 'abs(W)', '81e184eb5c56fcd3'),
    ('add(1, mul(abs(W), X))', 'add(1, mul(X, abs(W)))', '265efa66c78368c3', 'mul(X, abs(W))', '727474eb44ded456'),
    ('exp(mul(abs(W), X))', 'exp(mul(X, abs(W)))', 'd4029ca6951de282', 'mul(X, abs(W))', '727474eb44ded456'),
    ('tanh(abs(W))', 'tanh(abs(W))', 'b2fa0db91ceb89de', 'abs(W)', '81e184eb5c56fcd3'),
    ('sqrt(mul(abs(W), X))', 'mul(sqrt(X), sqrt(W))', '91b32d3e42e10b37', 'mul(X, abs(W))', '727474eb44ded456'),
    ('sqr(mul(W, X))', 'mul(sqr(W), sqr(X))', 'f07093364d649899', 'mul(X, abs(W))', '727474eb44ded456'),
    ('log(mul(abs(W), X))', 'log(mul(X, abs(W)))', 'f6e0a3d789c58497', 'mul(X, abs(W))', '727474eb44ded456'),
    ('mms(mul(abs(W), X))', 'mms(mul(X, abs(W)))', '163fd2d0bdc613de', 'mul(X, abs(W))', '727474eb44ded456'),
    ('zsn(abs(W))', 'zsn(abs(W))', '012a32493c63faba', 'abs(W)', '81e184eb5c56fcd3'),
    ('div(abs(W), G)', 'div(abs(W), G)', 'ccae2cf365fc104a', 'abs(W)', '81e184eb5c56fcd3'),
    ('neg(exp(W))', 'neg(exp(W))', '974dfa1406ccc2cd', 'neg(W)', '15f2bef12d699c28'),
    ('mul(sqr(W), sqr(X))', 'mul(sqr(W), sqr(X))', 'f07093364d649899', 'mul(X, abs(W))', '727474eb44ded456'),
    ('mul(sqr(W), X)', 'mul(X, sqr(W))', '6d9335fcf4d8ffff', 'mul(abs(W), sqrt(X))', 'c664072b1a7b04a2'),
    ('mul(neg(1), abs(W))', 'neg(abs(W))', '52ed3189869aa8c9', 'neg(abs(W))', '52ed3189869aa8c9'),
    ('pow(mul(abs(W), X), 3)', 'mul(mul(abs(W), pow(X, 3)), sqr(W))', '9361a64986a5e973', 'mul(X, abs(W))', '727474eb44ded456'),
]


def test_table_covers_enough_formulas_and_every_builtin() -> None:
    written = [row[0] for row in PINNED]
    assert len(set(written)) == len(written) >= 50
    assert set(BUILTINS.values()) <= set(written)


@pytest.mark.parametrize("text, canonical, hash_, ranking, rank_hash", PINNED, ids=[row[0] for row in PINNED])
def test_canonical_text_and_hashes_are_pinned(text: str, canonical: str, hash_: str, ranking: str,
                                              rank_hash: str) -> None:
    metric = Metric.parse(text)
    assert (metric.canonical, metric.hash) == (canonical, hash_)
    assert (metric.ranking, metric.rank_hash) == (ranking, rank_hash)
    assert hash_ == hashlib.sha256(canonical.encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtins_keep_their_hash_under_their_name(name: str) -> None:
    row = next(r for r in PINNED if r[0] == BUILTINS[name])
    assert builtin(name).hash == row[2]


# Canonical texts that re-parse to another canonical text: sympy orders sqrt(|W|) and sqrt(X) one
# way when the product comes out of a root and the other way when it is parsed. Pinned so that a
# fix (a hash change, so with a registry migration) is a visible, deliberate step.
NOT_A_FIXED_POINT = {"mul(sqrt(X), sqrt(W))": "mul(sqrt(W), sqrt(X))"}


def test_canonical_text_is_a_fixed_point() -> None:
    """Parsing a canonical text gives the same canonical text and hash again (but the pinned exceptions)."""
    for formula, canonical, hash_, _, _ in PINNED:
        if not Metric.parse(formula).operands:  # a constant canonical form (sub(W, W) -> 0) is refused as input
            with pytest.raises(MetricSyntaxError, match="uses no operand"):
                Metric.parse(canonical)
            continue
        again = Metric.parse(canonical)
        if canonical in NOT_A_FIXED_POINT:
            assert again.canonical == NOT_A_FIXED_POINT[canonical]
        else:
            assert (again.canonical, again.hash) == (canonical, hash_)


# Recipes: (text as written, canonical text, hash); the hash keys a recipe's evaluations like a metric's.
PINNED_RECIPES: list[tuple[str, str, str]] = [
    ('recipe(score=wanda, alloc=owl)', 'recipe(score=mul(X, abs(W)), alloc=outl, unit=block, post=none)', '384fbf30866903fe'),
    ('recipe(score=wanda, post=dsnot)', 'recipe(score=mul(X, abs(W)), alloc=uniform, post=dsnot)', '734e6b762336749f'),
    ('recipe(score=sparsegpt, post=obs)', 'recipe(score=sdiv(sqr(W), sqr(Hd)), alloc=uniform, post=obs)', '39787ea69e6226b7'),
    ('recipe(score=wanda, alloc=mul(sub(1, depth), add(attn, sstd)), unit=layer, post=ls)',
     'recipe(score=mul(X, abs(W)), alloc=mul(add(attn, sstd), sub(1, depth)), unit=layer, post=ls)', '74c9da5727b66ed0'),
    ('recipe(score=sparsegpt, alloc=zsn(sub(smean, outl)), post=dsnot)',
     'recipe(score=sdiv(sqr(W), sqr(Hd)), alloc=zsn(sub(smean, outl)), unit=block, post=dsnot)', '1cace75a2f0bbe73'),
    ('recipe(score=mul(abs(W), X))', 'mul(X, abs(W))', '727474eb44ded456'),  # bare: the metric's identity
]


@pytest.mark.parametrize("text,canonical,hash_", PINNED_RECIPES)
def test_recipe_canonical_text_and_hashes_are_pinned(text: str, canonical: str, hash_: str) -> None:
    from primitives.recipe import Recipe

    recipe = Recipe.parse(text)
    assert (recipe.canonical, recipe.hash) == (canonical, hash_)
    assert hashlib.sha256(canonical.encode()).hexdigest()[:16] == hash_
