"""The scheduling engine shared by every job command: slots, guard, loop, locks."""
