"""The studio, the history and a job's page: forms, views and their templates."""
