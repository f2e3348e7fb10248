"""`manage.py train_matcher`: refit the shipped matcher model from the repository's data."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from shelfwatch.catalog.matcher_model import MODEL_PATH
from shelfwatch.catalog.matcher_training import REPO_DATA, train_shipped_model


class Command(BaseCommand):
    help = (
        "Fit the product matcher (gradient-boosted trees, scikit-learn) on "
        "tests/data/grocery_pairs.csv and the Abt-Buy train split (with their matched pairs "
        "written again as other editions and other spellings), choose its threshold on "
        "held-apart grocery pairs and the Abt-Buy valid split, and write the model file."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", type=Path, default=REPO_DATA, help="tests/data directory")
        parser.add_argument("--out", type=Path, default=MODEL_PATH, help="model file to write")

    def handle(self, *args, data: Path, out: Path, **options) -> None:
        model = train_shipped_model(
            grocery=data / "grocery_pairs.csv", electronics=data / "abt_buy", out=out
        )
        trees = model.feature.shape[0]
        self.stdout.write(f"wrote {out.name}: version {model.version}, {trees} trees")
