"""`journey simulate`: a scenario run through the real workflow on Temporal's
time-skipping test server, and the timeline it produced."""
