"""The carrier network: hubs, outlets, lockers and stations, and their incident notices."""
