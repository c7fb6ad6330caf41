from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_emergencyaccess_patientmatchcandidate_patientview")]
    operations = [
        TrigramExtension(),
        migrations.AddIndex(
            model_name="networkpatient",
            index=GinIndex(fields=["match_key"], name="patient_match_key_trgm", opclasses=["gin_trgm_ops"]),
        ),
    ]
