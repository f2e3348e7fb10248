from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "shelfwatch.web"
    label = "web"
    verbose_name = "Pages"

    def ready(self) -> None:
        from shelfwatch.web.admin_front import brand_admin_site, throttle_admin_login

        brand_admin_site()
        throttle_admin_login()
