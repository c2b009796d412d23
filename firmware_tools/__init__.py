"""The technician's command line, ``qaqpa-tools``: look at what the hardware and the permits say."""
