"""Where overthink meets the tools users already run: inspect_ai (its tasks and its log viewer) and Hugging Face
datasets. Each module imports its third-party library at the top, so nothing here loads unless used."""
