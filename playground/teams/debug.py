import re

from django.views.debug import SafeExceptionReporterFilter


class HideCredentials(SafeExceptionReporterFilter):
    """Django hides settings named like API, KEY, PASS, SECRET, SIGNATURE, TOKEN; URLs
    and connection settings can hold passwords too (postgres://user:pass@…)."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|URL|DATABASE|REDIS|Q_CLUSTER|CACHES|STORAGES",
        flags=re.IGNORECASE,
    )
