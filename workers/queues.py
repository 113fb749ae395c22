"""Queues named by purpose, so each kind of work can be given its own workers."""
ROUTING = "routing"
PHOTOS = "photos"
NOTIFICATIONS = "notifications"
MAINTENANCE = "maintenance"

# The order a worker serves them in when it serves several: a citizen waits on
# routing, photos can wait a little, maintenance last.
ALL = (ROUTING, PHOTOS, NOTIFICATIONS, MAINTENANCE)
