from django.apps import AppConfig


class MatrixConfig(AppConfig):
    name = "playground.matrix"
    label = "matrix"
    verbose_name = "Matrix runs and prompt templates"
