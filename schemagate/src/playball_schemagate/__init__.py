"""The schema compatibility gate and registry workflow (`playball schemas`)."""
