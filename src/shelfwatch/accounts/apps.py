from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shelfwatch.accounts"
    label = "accounts"
    verbose_name = "Accounts and access"
