"""The FHIR endpoint's background work: bulk export jobs (public schema)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="portal.fhir.tasks.export_job_run")
def export_job_run(job_uuid: str) -> str:
    from portal.fhir.bulk.services import export_run

    return export_run(job_uuid=job_uuid)


@shared_task(name="portal.fhir.tasks.export_jobs_expire")
def export_jobs_expire() -> int:
    from portal.fhir.bulk.services import export_jobs_expire as expire

    return expire()
