"""Creating datasets (their source configuration checked first) and granting keys access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from shelfwatch.accounts.models import ApiKey, User
from shelfwatch.config.problems import ApiError
from shelfwatch.feeds.models import Dataset, scope_for
from shelfwatch.feeds.sources import SourceConfigError, validate_source


class InvalidDataset(ApiError):
    code = "invalid_dataset"


def clean_source(*, kind: str, config: dict[str, Any], owner: User) -> dict[str, Any]:
    try:
        return validate_source(kind, config, owner=owner)
    except SourceConfigError as exc:
        raise InvalidDataset(str(exc), code="invalid_source") from None


@transaction.atomic
def create_dataset(
    *,
    name: str,
    source_kind: str,
    source_config: dict[str, Any],
    owner: User,
    refresh_every: timedelta = timedelta(hours=1),
    description: str = "",
) -> Dataset:
    """A new dataset whose source configuration was validated; first refresh due at once."""
    config = clean_source(kind=source_kind, config=source_config, owner=owner)
    dataset = Dataset(
        name=name,
        source_kind=source_kind,
        source_config=config,
        owner=owner,
        refresh_every=refresh_every,
        description=description,
    )
    try:
        dataset.full_clean(exclude=["current_snapshot"])
    except ValidationError as exc:
        raise InvalidDataset("; ".join(exc.messages)) from None
    dataset.save()
    return dataset


def grant_read(*, api_key: ApiKey, dataset: Dataset) -> None:
    """Let `api_key` read `dataset` (adds its `feeds:<name>` scope); idempotent."""
    scope = scope_for(dataset.name)
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if scope not in key.scopes:
            key.scopes = sorted({*key.scopes, scope})
            key.save(update_fields=["scopes"])
    api_key.scopes = key.scopes
