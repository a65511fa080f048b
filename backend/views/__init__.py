"""Views that combine domains for a screen (the ward tile: a session, its latest readings,
its open alarms, NEWS2), composed here so that the domains never import each other to build one."""
