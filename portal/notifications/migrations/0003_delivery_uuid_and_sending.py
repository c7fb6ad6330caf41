import uuid

from django.db import migrations, models


def give_each_delivery_a_uuid(apps, schema_editor):
    Delivery = apps.get_model("notifications", "Delivery")
    for delivery in Delivery.objects.filter(uuid__isnull=True).only("pk").iterator():
        Delivery.objects.filter(pk=delivery.pk).update(uuid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_delivery_notificationpreference"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="uuid",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_each_delivery_a_uuid, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="delivery",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="status",
            field=models.CharField(
                choices=[("pending", "Pending"), ("sending", "Being sent"), ("sent", "Sent"), ("failed", "Failed")],
                db_index=True,
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="next_attempt_at",
            field=models.DateTimeField(
                db_index=True,
                help_text="When pending: when it is due. When sending: when the worker's lease on it ends.",
            ),
        ),
    ]
