"""Where sessions happen: sites, their rooms, and each room's chairs, configured by an admin."""
