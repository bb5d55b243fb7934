"""numpy implementations of the operators, mirroring ``primitives/torch_ops.py`` protection for
protection; the numpy exporter copies these functions' source into exported code (read with
``ast``), so this file is their one definition."""
from __future__ import annotations

import numpy as np

EPS = 1e-12


def op_add(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x + y


def op_sub(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x - y


def op_mul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x * y


def op_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x / max(float(np.sqrt(np.sum(np.square(y, dtype=np.float32), dtype=np.float32))), EPS)


def op_sdiv(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    floor = np.where(y < 0, np.float32(-1e-8), np.float32(1e-8))
    return x / np.where(np.abs(y) < 1e-8, floor, y)


def op_neg(x: np.ndarray) -> np.ndarray:
    return -x


def op_abs(x: np.ndarray) -> np.ndarray:
    return np.abs(x)


def op_sqr(x: np.ndarray) -> np.ndarray:
    return x * x


def op_sqrt(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.abs(x))


def op_log(x: np.ndarray) -> np.ndarray:
    return np.log(np.abs(x) + np.float32(1e-3))


def op_exp(x: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(x, np.float32(80.0)))


def op_tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def op_mms(x: np.ndarray) -> np.ndarray:
    low, high = x.min(), x.max()
    return (x - low) / max(float(high - low), EPS)


def op_zsn(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / max(float(x.std()), EPS)


def op_colsum(x: np.ndarray) -> np.ndarray:
    return x.sum(axis=0, keepdims=True) if x.ndim == 2 else x


def op_rowsum(x: np.ndarray) -> np.ndarray:
    return x.sum(axis=-1, keepdims=True) if x.ndim == 2 else x


def op_pow(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    exponent = float(c)
    return np.power(x, exponent) if exponent.is_integer() else np.power(np.abs(x), exponent)
