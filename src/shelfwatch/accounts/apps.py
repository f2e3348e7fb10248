from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shelfwatch.accounts"
    label = "accounts"
    verbose_name = "Accounts and access"

    def ready(self) -> None:
        from shelfwatch.accounts import signals

        signals.connect()
