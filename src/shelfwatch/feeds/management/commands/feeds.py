"""`shelfwatch feeds list|create|delete|refresh|status|grant`: datasets from the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from shelfwatch.accounts.models import ApiKey, User
from shelfwatch.errors import DomainError
from shelfwatch.feeds.datasets import create_dataset, delete_dataset, grant_read
from shelfwatch.feeds.models import Dataset, RefreshRun, RefreshStatus
from shelfwatch.feeds.refresh import claim_refresh, run_refresh
from shelfwatch.feeds.status import dataset_status


class Command(BaseCommand):
    help = "List, create or delete datasets, show one's status, or refresh one in this process."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="every dataset with its snapshot and last refresh")
        create = sub.add_parser("create", help="create a dataset (any source kind)")
        create.add_argument("name")
        create.add_argument("--source", required=True, help="internal, sql, http_csv or http_json")
        create.add_argument(
            "--config", default="{}", help='source settings as JSON, e.g. {"table": "orders"}'
        )
        create.add_argument("--owner", required=True, help="the owner's email address")
        create.add_argument("--every", type=int, default=3600, help="refresh interval, seconds")
        create.add_argument("--description", default="")
        delete = sub.add_parser("delete", help="delete a dataset, its snapshots and key scopes")
        delete.add_argument("name")
        refresh = sub.add_parser("refresh", help="refresh a dataset now, printing progress")
        refresh.add_argument("name")
        status = sub.add_parser("status", help="a dataset's status as JSON")
        status.add_argument("name")
        grant = sub.add_parser("grant", help="let an API key (by its prefix) read a dataset")
        grant.add_argument("name")
        grant.add_argument("key_prefix")

    def handle(self, *args, action: str, **options) -> None:
        if action == "list":
            self._list()
            return
        if action == "create":
            self._create(options)
            return
        dataset = (
            Dataset.objects.select_related("current_snapshot").filter(name=options["name"]).first()
        )
        if dataset is None:
            raise CommandError(f"no dataset called {options['name']!r}")
        if action == "status":
            self.stdout.write(json.dumps(dataset_status(dataset), indent=2))
        elif action == "delete":
            try:
                delete_dataset(dataset=dataset)
            except DomainError as exc:
                raise CommandError(f"{dataset.name}: {exc.detail}") from None
            self.stdout.write(f"deleted {dataset.name}")
        elif action == "grant":
            key = ApiKey.objects.filter(prefix=options["key_prefix"]).first()
            if key is None:
                raise CommandError(f"no API key with prefix {options['key_prefix']!r}")
            grant_read(api_key=key, dataset=dataset)
            self.stdout.write(f"key {key.prefix} may read {dataset.name} ({dataset.read_scope})")
        else:
            self._refresh(dataset)

    def _list(self) -> None:
        for dataset in Dataset.objects.select_related("current_snapshot"):
            snapshot = dataset.current_snapshot
            count = snapshot.record_count if snapshot else "-"
            self.stdout.write(f"{dataset.name:24} {dataset.source_kind:10} records {count}")

    def _create(self, options: dict) -> None:
        owner = User.objects.filter(email__iexact=options["owner"]).first()
        if owner is None:
            raise CommandError(f"no user with the email {options['owner']!r}")
        try:
            config = json.loads(options["config"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not JSON: {exc}") from None
        try:
            dataset = create_dataset(
                name=options["name"],
                source_kind=options["source"],
                source_config=config,
                owner=owner,
                refresh_every=timedelta(seconds=options["every"]),
                description=options["description"],
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        self.stdout.write(
            f"created {dataset.name} ({dataset.source_kind}); first refresh due now, "
            f"then every {options['every']} s; readers need the scope {dataset.read_scope}"
        )

    def _refresh(self, dataset: Dataset) -> None:
        run = claim_refresh(dataset=dataset, trigger=RefreshRun.Trigger.COMMAND)
        if run is None:
            raise CommandError(f"{dataset.name}: a refresh is already in progress")

        def progress(current: RefreshRun) -> None:
            self.stdout.write(
                f"{dataset.name}: {current.status} records {current.records} "
                f"bytes {current.raw_bytes}"
            )
            self.stdout.flush()

        finished = run_refresh(run.pk, progress=progress)
        if finished.status != RefreshStatus.SUCCEEDED:
            raise CommandError(f"{dataset.name}: failed: {finished.error_code}: {finished.error}")
        snapshot = finished.snapshot
        self.stdout.write(
            self.style.SUCCESS(
                f"{dataset.name}: {snapshot.record_count} records, {snapshot.raw_bytes} bytes "
                f"({snapshot.stored_bytes} gzip) in {finished.duration_seconds:.2f} s"
            )
        )
