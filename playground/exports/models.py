"""ZIP exports of many archived images with their manifest, built in the background."""
