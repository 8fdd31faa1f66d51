from django.apps import AppConfig


class DjangoStoreConfig(AppConfig):
    name = "django_store"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the receiver that drops the process's Loyalty when its settings change.
        from django_store import loyalty  # noqa: F401
