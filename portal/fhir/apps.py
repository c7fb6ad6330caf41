from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "portal.fhir"
    label = "fhir"
    verbose_name = "FHIR API"
