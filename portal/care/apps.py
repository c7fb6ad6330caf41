from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "portal.care"
    label = "care"
