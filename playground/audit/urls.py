from django.urls import URLPattern, path

from playground.audit import views

# Under /t/<team>/.
team_patterns: list[URLPattern] = [
    path("audit/", views.team_audit, name="team_audit"),
    path("audit.csv", views.team_audit_csv, name="team_audit_csv"),
]

patterns: list[URLPattern] = [
    path("audit/", views.site_audit, name="site_audit"),
    path("audit.csv", views.site_audit_csv, name="site_audit_csv"),
]
