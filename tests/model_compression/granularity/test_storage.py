"""Storage bytes against hand-computed cases (bit-packed index arrays, each rounded up to bytes)."""
from __future__ import annotations

import pytest
import torch

from evaluators.granularity import group_keep_mask
from model_compression.granularity.storage import bits, block_csr, dense, element_csr, natural_storage


def test_bits() -> None:
    assert [bits(n) for n in (0, 1, 2, 3, 4, 5, 8, 9, 13, 25)] == [1, 1, 1, 2, 2, 3, 3, 4, 4, 5]


def test_element_csr_by_hand() -> None:
    keep = torch.zeros(4, 8, dtype=torch.bool)
    keep[0, :5] = keep[1, 2:4] = keep[3, 1:6] = True  # nnz = 5 + 2 + 5 = 12
    st = natural_storage(keep, "element", value_bytes=4)
    # values 12 * 4 = 48 B; column indices 12 * bits(8)=3 -> 36 bits -> 5 B; row pointers (4+1) * bits(13)=4 -> 20 bits -> 3 B
    assert (st.format, st.value_bytes, st.index_bytes, st.indices, st.total_bytes) == ("csr", 48, 8, 12, 56)
    assert st.dense_bytes == 4 * 8 * 4 == 128 and st.ratio == 56 / 128


def test_vectors_of_three_keep_a_third_of_the_indices() -> None:
    keep = torch.zeros(4, 12, dtype=torch.bool)
    for r, c in [(0, 0), (0, 3), (1, 6), (1, 9), (2, 0), (2, 9), (3, 3), (3, 6)]:  # 8 kept 1x3 vectors = 24 values
        keep[r, c:c + 3] = True
    st = natural_storage(keep, "1x3", value_bytes=4)
    # values 24 * 4 = 96 B; one index per vector: 8 * bits(12/3 = 4)=2 -> 16 bits -> 2 B;
    # vector-row pointers (4+1) * bits(9)=4 -> 20 bits -> 3 B; total 101 B
    assert (st.format, st.value_bytes, st.index_bytes, st.indices, st.total_bytes) == ("vector-csr", 96, 5, 8, 101)
    csr = element_csr(keep, 4)
    # element CSR of the same mask: 24 * bits(12)=4 -> 96 bits -> 12 B; (4+1) * bits(25)=5 -> 25 bits -> 4 B; 96 + 16
    assert (csr.indices, csr.index_bytes, csr.total_bytes) == (24, 16, 112)
    assert st.indices / csr.indices == pytest.approx(1 / 3)


def test_blocks_rows_cols_nm_by_hand() -> None:
    blocks = torch.zeros(4, 8, dtype=torch.bool)
    blocks[0:2, 0:2] = blocks[0:2, 6:8] = blocks[2:4, 2:4] = True  # 3 kept 2x2 blocks
    st = natural_storage(blocks, "block:2", value_bytes=4)
    # values 3*4*4 = 48 B; block indices 3 * bits(4)=2 -> 6 bits -> 1 B; block-row pointers (2+1) * bits(4)=2 -> 1 B
    assert (st.format, st.total_bytes, st.indices) == ("bsr", 50, 3)

    rows = torch.zeros(4, 8, dtype=torch.bool)
    rows[[1, 3]] = True
    st = natural_storage(rows, "filter", value_bytes=2)
    # 2 rows * 8 * 2 B = 32 B (bf16); kept-row list 2 * bits(4)=2 -> 4 bits -> 1 B
    assert (st.format, st.value_bytes, st.index_bytes, st.dense_bytes) == ("dense-rows", 32, 1, 64)

    cols = torch.zeros(4, 8, dtype=torch.bool)
    cols[:, 4:8] = True  # head 1 of two 4-wide heads kept in an output projection
    st = natural_storage(cols, "head:4", value_bytes=4, role="cols")
    # 4 x 4 kept values * 4 B = 64 B; kept-column list 4 * bits(8)=3 -> 12 bits -> 2 B
    assert (st.format, st.total_bytes) == ("dense-cols", 66)

    nm = group_keep_mask(torch.rand(4, 8), 0.5, "2:4")
    st = natural_storage(nm, "2:4", value_bytes=4)
    # 16 kept * 4 B = 64 B; 2 bits of position per kept value: 32 bits = 4 B
    assert (st.format, st.value_bytes, st.index_bytes, st.total_bytes) == ("nm", 64, 4, 68)


def test_conv_kernels_one_index_each() -> None:
    torch.manual_seed(0)
    keep = group_keep_mask(torch.rand(4, 2, 3, 3), 0.5, "kernel")  # 8 kernels, 4 kept
    st = natural_storage(keep, "kernel", value_bytes=4)
    # view 4 x 18, tiles 1 x 9: values 4 * 9 * 4 = 144 B; 4 * bits(2)=1 -> 1 B; (4+1) * bits(5)=3 -> 15 bits -> 2 B
    assert (st.format, st.indices, st.total_bytes) == ("vector-csr", 4, 147)
    assert dense((4, 18), 4).total_bytes == 288


def test_partial_groups_rejected() -> None:
    keep = torch.ones(4, 8, dtype=torch.bool)
    keep[0, 0] = False
    with pytest.raises(ValueError, match="whole"):
        block_csr(keep, (1, 4), 4)
    with pytest.raises(ValueError, match="whole rows"):
        natural_storage(keep, "filter")
    with pytest.raises(ValueError, match="2:4"):
        natural_storage(keep, "2:4")
