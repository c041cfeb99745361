from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "playground.generations"
    # The label of the single app this project started as: the tables
    # (playground_generation, …), the migration history and the content types keep it,
    # so moving the code into this folder changed nothing in any database.
    label = "playground"
    verbose_name = "Generations"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django_q.signals import post_spawn
        from PIL import Image

        from playground import catalogue
        from playground.generations import jobs, mask_uploads, poller, references, submitter
        from playground.lib import schedules

        # Pillow's own limit only warns up to ~179 MP; ours is EvoLink's and is an error
        # (playground.generations.references turns the warning into a rejection).
        Image.MAX_IMAGE_PIXELS = catalogue.MAX_REFERENCE_PIXELS
        # Sent only in a qcluster's worker processes as they start (never in web
        # processes, nor with sync=True): each starts its poller thread, which first
        # recovers what a crashed cluster left.
        post_spawn.connect(poller.on_worker_start, dispatch_uid="playground-poller")
        # Likewise its submitter thread, which sends queued jobs in the fair order.
        post_spawn.connect(submitter.on_worker_start, dispatch_uid="playground-submitter")
        schedules.declare(
            # Re-wakes work whose worker vanished (jobs.py's docstring).
            schedules.Periodic("playground-reconcile", jobs.reconcile, schedules.MINUTES, 1),
            # Uploads no job uses are deleted a day after their last upload.
            schedules.Periodic(
                "playground-clean-references", references.clean_unreferenced, schedules.HOURLY
            ),
            # Masks no job uses, likewise.
            schedules.Periodic(
                "playground-clean-masks", mask_uploads.clean_unused, schedules.HOURLY
            ),
        )
        # Once per `migrate` (and flush), after every app's migrations: every app has
        # declared its schedules by then (all `ready()`s run first).
        post_migrate.connect(
            schedules.sync_after_migrate, sender=self, dispatch_uid="playground-schedules"
        )
