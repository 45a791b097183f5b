"""The floor: every patient in observation, the entry line, the station's help."""
