from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patients", "0005_date_of_birth_index")]
    operations = [
        BtreeGinExtension(),
        migrations.AddField(
            model_name="carerelationship",
            name="match_key",
            field=models.CharField(default="", editable=False, max_length=220),
        ),
        migrations.RunSQL(
            "UPDATE patients_carerelationship r SET match_key = p.match_key "
            "FROM patients_networkpatient p WHERE p.id = r.patient_id",
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="carerelationship",
            index=GinIndex(
                fields=["organization", "match_key"],
                name="relationship_org_name_trgm",
                opclasses=["int8_ops", "gin_trgm_ops"],
            ),
        ),
    ]
