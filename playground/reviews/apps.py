from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "playground.reviews"
    label = "reviews"
    verbose_name = "Reviews"
