"""The home page and its tiles: above the domains, it reads each of them (people, patients,
care, messages, the access log) and belongs to none."""
