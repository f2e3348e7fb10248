"""Creating, changing and deleting datasets (sources checked first), and granting keys access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shelfwatch.accounts.models import ApiKey, User
from shelfwatch.errors import Conflict, Invalid
from shelfwatch.feeds.models import Dataset, scope_for
from shelfwatch.feeds.refresh import is_refreshing
from shelfwatch.feeds.sources import SourceConfigError, validate_source
from shelfwatch.feeds.storage import remove_dataset_files

MIN_REFRESH_EVERY = timedelta(minutes=1)
MAX_REFRESH_EVERY = timedelta(days=31)


class InvalidDataset(Invalid):
    code = "invalid_dataset"


class NameTaken(Conflict):
    code = "dataset_exists"


def check_refresh_every(every: timedelta) -> timedelta:
    """`every` itself when it is between one minute and 31 days; raises InvalidDataset otherwise."""
    if not MIN_REFRESH_EVERY <= every <= MAX_REFRESH_EVERY:
        raise InvalidDataset(
            "the refresh interval must be between one minute and 31 days",
            code="invalid_refresh_interval",
        )
    return every


def clean_source(*, kind: str, config: dict[str, Any], owner: User) -> dict[str, Any]:
    """The cleaned source configuration; a configuration the source refuses raises
    InvalidDataset."""
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
    check_refresh_every(refresh_every)
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
        if "name" in exc.message_dict and Dataset.objects.filter(name=name).exists():
            raise NameTaken("a dataset by that name exists") from None
        raise InvalidDataset("; ".join(exc.messages)) from None
    try:
        with transaction.atomic():
            dataset.save()
    except IntegrityError:  # created by someone else since the check above
        raise NameTaken("a dataset by that name exists") from None
    return dataset


@transaction.atomic
def update_dataset(
    *,
    dataset: Dataset,
    description: str | None = None,
    refresh_every: timedelta | None = None,
    is_active: bool | None = None,
) -> Dataset:
    """Change what is given; a new interval counts from the current snapshot's refresh."""
    fields = []
    if description is not None:
        if len(description) > 300:
            raise InvalidDataset("the description is longer than 300 characters")
        dataset.description = description
        fields.append("description")
    if refresh_every is not None:
        dataset.refresh_every = check_refresh_every(refresh_every)
        snapshot = dataset.current_snapshot
        last = snapshot.finished_at if snapshot is not None else timezone.now()
        dataset.next_refresh_at = last + refresh_every
        fields += ["refresh_every", "next_refresh_at"]
    if is_active is not None:
        dataset.is_active = is_active
        fields.append("is_active")
    if fields:
        dataset.save(update_fields=fields)
    return dataset


def delete_dataset(*, dataset: Dataset) -> None:
    """Delete the dataset, its snapshots and runs, and every key's scope to read it.

    Refused while a refresh runs (its lease ends on its own if the process died). Keys lose
    the scope so that a dataset created later under the same name is not readable to them.
    """
    scope = scope_for(dataset.name)
    with transaction.atomic():
        # The lease is taken with a conditional UPDATE, so a refresh cannot start once
        # this row is locked and found idle.
        locked = Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        if locked is None:
            return
        if is_refreshing(locked):
            raise Conflict(
                "a refresh of this dataset is running; delete it once that finishes",
                code="refresh_in_progress",
            )
        holders = ApiKey.objects.select_for_update().filter(scopes__icontains=f'"{scope}"')
        for key in holders:
            if scope in key.scopes:
                key.scopes = [held for held in key.scopes if held != scope]
                key.save(update_fields=["scopes"])
        locked.delete()
        name = locked.name
        transaction.on_commit(lambda: remove_dataset_files(name))


def grant_read(*, api_key: ApiKey, dataset: Dataset) -> None:
    """Let `api_key` read `dataset` (adds its `feeds:<name>` scope); idempotent."""
    scope = scope_for(dataset.name)
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if scope not in key.scopes:
            key.scopes = sorted({*key.scopes, scope})
            key.save(update_fields=["scopes"])
    api_key.scopes = key.scopes
