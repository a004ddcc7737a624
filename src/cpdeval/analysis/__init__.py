"""Chapter analyses: each module reads derived tables, writes the tidy tables and figures its chapter shows."""
