"""The job runtime: the local worker (claim, heartbeat, complete), the run step of a job from its spec
file (``ringrift run-job``) and the status file a run leaves for the controller to read."""
