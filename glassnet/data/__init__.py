"""Datasets, splits, preprocessing and augmentation; examples are ROWS ``(m, n)``.

>>> from glassnet.data import load_dataset, train_dev_test_split, Standardizer
>>> data = load_dataset("moons")                     # the course's make_moons draw
>>> X_train, X_dev, X_test, y_train, y_dev, y_test = train_dev_test_split(
...     data.X, data.y, rng=0)
>>> scaler = Standardizer().fit(X_train)             # training statistics only
>>> X_dev = scaler.transform(X_dev)
"""

from glassnet.data.augmentation import (
    Augmentation,
    Compose,
    GaussianNoise,
    RandomCrop,
    RandomFlip,
    RandomShift,
    augmentation_from_config,
)
from glassnet.data.builtin import data_search_paths
from glassnet.data.datasets import TASKS, Dataset, DatasetNotFoundError, infer_task
from glassnet.data.generated import make_circles, make_flower, make_moons
from glassnet.data.images import load_image_folder
from glassnet.data.loaders import (
    load_csv,
    load_file,
    load_h5,
    load_mat,
    load_npz,
    load_parquet,
)
from glassnet.data.on_disk import RowSubset, open_rows
from glassnet.data.preprocessing import (
    Standardizer,
    decode_labels,
    encode_labels,
    one_hot,
)
from glassnet.data.registry import available_datasets, load_dataset, register_dataset
from glassnet.data.splits import (
    mismatched_split,
    recommend_ratios,
    train_dev_test_split,
    training_dev_split,
)
from glassnet.data.streams import ParquetRows

__all__ = [
    "TASKS",
    "Dataset",
    "DatasetNotFoundError",
    "load_dataset",
    "register_dataset",
    "available_datasets",
    "data_search_paths",
    "infer_task",
    "load_file",
    "load_h5",
    "load_mat",
    "load_npz",
    "load_csv",
    "load_parquet",
    "load_image_folder",
    "make_moons",
    "make_circles",
    "make_flower",
    "train_dev_test_split",
    "training_dev_split",
    "mismatched_split",
    "recommend_ratios",
    "Standardizer",
    "one_hot",
    "encode_labels",
    "decode_labels",
    "Augmentation",
    "GaussianNoise",
    "RandomFlip",
    "RandomShift",
    "RandomCrop",
    "Compose",
    "augmentation_from_config",
    "open_rows",
    "RowSubset",
    "ParquetRows",
]
