from django.apps import AppConfig


class PlaygroundConfig(AppConfig):
    name = "playground"
    verbose_name = "GPT Image playground"

    def ready(self) -> None:
        from PIL import Image

        from playground import catalogue

        # Pillow's own limit only warns up to ~179 MP; ours is EvoLink's and is an error
        # (playground.references turns the warning into a rejection).
        Image.MAX_IMAGE_PIXELS = catalogue.MAX_REFERENCE_PIXELS
