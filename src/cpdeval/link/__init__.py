"""Linking: bookings to school URNs (name/postcode matching) and URNs to stable school keys (lineage)."""
